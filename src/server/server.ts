// The server: a TCP listener for clients, the command table, pub/sub, and the replicated node.
//
// It owns the lifecycle: start (open storage, replay the log, listen) and a clean stop (stop
// accepting, let in-flight writes finish and be answered, close every client, close storage).

import * as net from 'node:net';
import { StateMachine } from '../locks/state_machine';
import { dataCommands } from '../locks/commands';
import { createLuaEngine } from '../locks/scripting';
import { clusterCommands } from './commands/cluster';
import { raftAdminCommands } from './commands/raft_admin';
import { Client, type ClientHost } from './client';
import { CommandTable } from './command_table';
import type { ServerConfig } from './config';
import { dispatch } from './dispatcher';
import type { Logger } from './log';
import { PubSubHub } from './pubsub';
import { RaftDriver } from './raft_driver';
import type { ReplySequence } from './reply_sequence';
import type { ReplyOrLater } from './pending_reply';
import type { ReplicatedNode, ServerApi, ServerStats } from './server_api';
import { connectionCommands } from './commands/connection';
import { clientCommands } from './commands/client';
import { pubsubCommands } from './commands/pubsub';
import { serverInfoCommands } from './commands/server_info';

export function buildCommandTable(): CommandTable {
  const table = new CommandTable();
  table.addServer(connectionCommands);
  table.addServer(clientCommands);
  table.addServer(pubsubCommands);
  table.addServer(serverInfoCommands);
  table.addServer(clusterCommands);
  table.addServer(raftAdminCommands);
  table.addData(dataCommands.values());
  return table;
}

export class Server implements ServerApi, ClientHost {
  readonly commands = buildCommandTable();
  readonly pubsub = new PubSubHub();
  readonly stats: ServerStats = {
    connectionsReceived: 0,
    commandsProcessed: 0,
    rejectedConnections: 0,
    pubsubMessages: 0,
    protocolErrors: 0,
  };
  readonly startedAtMs = Date.now();
  readonly node: ReplicatedNode;
  private readonly driver: RaftDriver;
  private readonly stateMachine: StateMachine;
  private readonly clientsById = new Map<number, Client>();
  private listener: net.Server | null = null;
  private nextClientId = 1;
  private stopping: Promise<void> | null = null;

  constructor(
    readonly config: ServerConfig,
    readonly logger: Logger,
  ) {
    this.stateMachine = new StateMachine({
      databases: config.databases,
      scriptEngine: createLuaEngine(),
      events: {
        publish: (channel, message) => {
          this.stats.pubsubMessages++;
          return this.pubsub.publish(channel, message);
        },
        log: (level, message) => this.logger[level === 'warning' ? 'warn' : level === 'notice' ? 'info' : 'debug']('script log', { message }),
      },
    });
    this.driver = new RaftDriver({
      config,
      stateMachine: this.stateMachine,
      logger: logger.child({ component: 'raft' }),
      onLeaderChange: (oldAddress, newAddress) => this.announceSwitchMaster(oldAddress, newAddress),
      // A name asked about on any node is announced by every node: after a fast failover the
      // survivors publish +switch-master before any client has asked them anything.
      sentinelNames: () => [...this.sentinelNames],
      onSentinelNames: (names) => {
        for (const name of names) this.learnSentinelName(name);
      },
      onFatal: (message) => {
        this.logger.error(`stopping: ${message}`);
        void this.stop().finally(() => process.exit(3));
      },
    });
    this.node = this.driver;
  }

  /** The bound client port (useful when configured with port 0). */
  get port(): number {
    const address = this.listener?.address();
    return typeof address === 'object' && address !== null ? address.port : this.config.port;
  }

  async start(): Promise<void> {
    await this.driver.start();
    const listener = net.createServer((socket) => this.accept(socket));
    this.listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this.config.port, this.config.host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', (error) => this.logger.error('client listener error', { err: error }));
    this.driver.setClientAddress(`${this.config.host}:${this.port}`);
    this.logger.info('quorumlock is serving', { host: this.config.host, port: this.port, node: this.config.nodeId, dataDir: this.config.dataDir });
  }

  private accept(socket: net.Socket): void {
    this.stats.connectionsReceived++;
    if (this.clientsById.size >= this.config.maxClients || this.stopping) {
      this.stats.rejectedConnections++;
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    const client = new Client(
      this.nextClientId++,
      socket,
      this,
      {
        inlineBytesMax: this.config.protoInlineMaxBytes,
        bulkBytesMax: this.config.protoMaxBulkLen,
        arrayLengthMax: this.config.protoMaxMultibulkLen,
        outputSoftBytes: this.config.clientOutputSoftBytes,
        outputHardBytes: this.config.clientOutputHardBytes,
        pipelineMax: this.config.clientPipelineMax,
      },
      this.config.requirepass !== '',
    );
    this.clientsById.set(client.id, client);
  }

  /** Master names Sentinel clients asked about, here or on a peer; +switch-master is published for each (bounded). */
  readonly sentinelNames = new Set<string>();

  noteSentinelName(name: string): void {
    if (this.learnSentinelName(name)) this.driver.sentinelNamesChanged();
  }

  /** Adds a master name (at most 16, of at most 256 bytes); true when it is new. */
  private learnSentinelName(name: string): boolean {
    if (this.sentinelNames.has(name) || this.sentinelNames.size >= 16 || Buffer.byteLength(name) > 256) return false;
    this.sentinelNames.add(name);
    return true;
  }

  /** Sentinel's failover notice, on this node's pub/sub: `<name> <old-ip> <old-port> <new-ip> <new-port>`. */
  private announceSwitchMaster(oldAddress: string, newAddress: string): void {
    const split = (address: string): string => {
      const colon = address.lastIndexOf(':');
      return colon === -1 ? '0.0.0.0 0' : `${address.slice(0, colon)} ${address.slice(colon + 1)}`;
    };
    for (const name of new Set([this.config.sentinelName, ...this.sentinelNames])) {
      this.pubsub.publish('+switch-master', `${name} ${split(oldAddress)} ${split(newAddress)}`);
    }
  }

  dispatch(client: Client, argv: string[]): ReplyOrLater | ReplySequence {
    return dispatch(this, client, argv);
  }

  clientClosed(client: Client): void {
    this.clientsById.delete(client.id);
    this.pubsub.removeClient(client);
  }

  clients(): Iterable<Client> {
    return this.clientsById.values();
  }

  killClient(client: Client): void {
    client.destroy();
  }

  setConfig(name: string, value: string): string | null {
    const integer = (min: number, max: number): number | null => {
      if (!/^\d+$/.test(value)) return null;
      const n = Number(value);
      return n >= min && n <= max ? n : null;
    };
    switch (name) {
      case 'requirepass':
        this.config.requirepass = value;
        return null;
      case 'maxclients': {
        const n = integer(1, 1_000_000);
        if (n === null) return 'argument must be an integer between 1 and 1000000';
        this.config.maxClients = n;
        return null;
      }
      case 'proto-max-bulk-len': {
        const n = integer(1024 * 1024, 512 * 1024 * 1024);
        if (n === null) return 'argument must be between 1mb and 512mb in bytes';
        this.config.protoMaxBulkLen = n;
        return null;
      }
      case 'save':
      case 'appendonly':
      case 'appendfsync':
        return null; // accepted for tools that set them; durability here is always one fsync per batch
      default:
        return `Unknown option or number of arguments for CONFIG SET - '${name}'`;
    }
  }

  /** Clean shutdown: stop accepting, let in-flight writes be answered, close clients and storage. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.logger.info('shutting down', { clients: this.clientsById.size });
      // close() stops accepting now; its callback waits for the last connection, closed below.
      const listenerClosed = new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
      await this.driver.stop();
      for (const client of [...this.clientsById.values()]) client.closeAfterReplies();
      // Their last replies are flushed in a microtask: a reply lost here would look to the client
      // like a dropped connection, and ioredis would resend a write that already ran.
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (const client of [...this.clientsById.values()]) client.destroy();
      await listenerClosed;
      this.logger.info('stopped');
    })();
    return this.stopping;
  }
}

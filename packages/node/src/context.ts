import type { NodeIdentity } from '@egtp/identity'
import type { Clock, Commstrat, Logger, Lookup, TypedEventTarget } from '@egtp/interface'
import type { SessionManager } from '@egtp/session'
import type { StatsCollector } from './stats.ts'
import type { NodeEvents, NodeLimits } from './types.ts'

/** What the node's internal parts share. */
export interface NodeContext {
  readonly identity: NodeIdentity
  readonly sessions: SessionManager
  readonly clock: Clock
  readonly log: Logger
  readonly limits: NodeLimits
  readonly stats: StatsCollector
  readonly events: TypedEventTarget<NodeEvents>
  readonly commstrats: readonly Commstrat[]
  readonly lookup: Lookup | undefined
  /** Aborted when the node stops. */
  readonly shutdown: AbortSignal
}

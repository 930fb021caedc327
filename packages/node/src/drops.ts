import type { NodeContext } from './context.ts'
import type { DropReason } from './types.ts'

/** Count a message or frame that was not delivered, and tell `message:dropped` listeners (if any) why. */
export function reportDrop (ctx: NodeContext, reason: DropReason, peerId?: string, type?: string, error?: Error): void {
  ctx.stats.drop(reason)
  if (ctx.events.listenerCount('message:dropped') === 0) return
  const detail: { reason: DropReason, peerId?: string, type?: string, error?: Error } = { reason }
  if (peerId !== undefined) detail.peerId = peerId
  if (type !== undefined) detail.type = type
  if (error !== undefined) detail.error = error
  ctx.events.safeDispatch('message:dropped', detail)
}

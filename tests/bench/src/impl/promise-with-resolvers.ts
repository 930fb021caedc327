// js-libp2p 3.x (through a dependency) calls Promise.withResolvers, which Node 20 lacks.
interface WithResolvers { withResolvers?: unknown }
if ((Promise as WithResolvers).withResolvers === undefined) {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T> () {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
  })
}
export {}

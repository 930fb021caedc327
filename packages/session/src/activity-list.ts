// The current sessions in order of activity, least recently active first (evicted first when the table is
// full): a doubly linked list through two fields of each session instead of a Set (a Set costs a hash table
// slot per session, rebuilt as sessions move to its end; thousands of idle peers each hold one).

/** What the list links through: two fields of each member, written only by the list. */
export interface ActivityLinks<T> {
  activityPrev: T | undefined
  activityNext: T | undefined
}

/** An insertion-ordered set of sessions (`add` of a member does not move it; `moveToEnd` does). */
export class ActivityList<T extends ActivityLinks<T>> {
  #first: T | undefined
  #last: T | undefined
  #size = 0

  get size (): number { return this.#size }
  /** The least recently active member. */
  get first (): T | undefined { return this.#first }
  /** The most recently active member. */
  get last (): T | undefined { return this.#last }

  has (s: T): boolean {
    return s.activityPrev !== undefined || this.#first === s
  }

  /** Append `s` unless it is a member. */
  add (s: T): void {
    if (this.has(s)) return
    s.activityPrev = this.#last
    s.activityNext = undefined
    if (this.#last === undefined) this.#first = s
    else this.#last.activityNext = s
    this.#last = s
    this.#size++
  }

  /** Remove `s`; whether it was a member. */
  delete (s: T): boolean {
    if (!this.has(s)) return false
    const prev = s.activityPrev
    const next = s.activityNext
    if (prev === undefined) this.#first = next
    else prev.activityNext = next
    if (next === undefined) this.#last = prev
    else next.activityPrev = prev
    s.activityPrev = s.activityNext = undefined
    this.#size--
    return true
  }

  /** Move a member to the end (most recently active); nothing for a non-member. */
  moveToEnd (s: T): void {
    if (this.#last === s || !this.delete(s)) return
    this.add(s)
  }

  clear (): void {
    for (let s = this.#first; s !== undefined;) {
      const next = s.activityNext
      s.activityPrev = s.activityNext = undefined
      s = next
    }
    this.#first = this.#last = undefined
    this.#size = 0
  }
}

import { spawn } from 'node:child_process'
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs'
import { chmod, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RECORD_EXPIRY_GRACE_MS, createContactRecord, contactRecordFromWire, contactRecordToWire, decodeContactRecord, encodeContactRecord, generateIdentity } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { EGTP_NODE_FLAGS } from '../src/node-flags.ts'
import { NODE_MAIN, RELAY_MAIN, alive, exec, sleep, start, tempDir, until } from './helpers.ts'

/** A relay that is nowhere: a fresh node ID at a port nothing listens on (1: privileged, unused). */
const deadRelay = (): string => `${generateIdentity().nodeId}@127.0.0.1:1`

describe('a relay-only node keeps running while its relay is away', () => {
  test('its relay is unreachable from the start: it stays up, says so once on stderr, and status shows it', async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const node = await start(NODE_MAIN, ['run', '--json', '--relay', deadRelay(), '--state-dir', join(dir, 'n')], onTestFinished)
    await sleep(1_500) // several reconnect attempts (the issue: exit 0 after 0.45 s)
    expect(alive(node.child)).toBe(true)
    const notices = node.stderr().split('\n').filter(l => l.includes('"event":"relay:down"'))
    expect(notices).toHaveLength(1)
    const status = await exec(['status', '--state-dir', join(dir, 'n'), '--json'])
    expect(status.code).toBe(0)
    const relays = (JSON.parse(status.out) as { relays: Array<{ state: string, failures: number }> }).relays
    expect(relays).toHaveLength(1)
    expect(['backoff', 'connecting']).toContain(relays[0]!.state)
    expect(relays[0]!.failures).toBeGreaterThan(0)
    node.child.kill('SIGTERM')
    const [code] = await new Promise<[number | null]>(resolve => node.child.once('exit', (c) => { resolve([c]) }))
    expect(code).toBe(0)
  })

  test('its relay stops: it stays up, and reports the relay reachable again after the relay restarts', async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const key = join(dir, 'relay.key')
    const relay = await start(RELAY_MAIN, ['--listen', '127.0.0.1:0', '--key-file', key], onTestFinished)
    const endpoint = `${relay.ready.nodeId}@127.0.0.1:${String(relay.ready.port)}`
    const node = await start(NODE_MAIN, ['run', '--json', '--relay', endpoint, '--state-dir', join(dir, 'n')], onTestFinished)
    await until(async () => {
      const s = await exec(['status', '--state-dir', join(dir, 'n'), '--json'])
      return (JSON.parse(s.out) as { relays: Array<{ state: string }> }).relays[0]?.state === 'ready'
    }, 10_000, 'registered with the relay')
    relay.child.kill('SIGTERM')
    await new Promise(resolve => relay.child.once('exit', resolve))
    await sleep(1_000) // the issue: exit 0 within 25 ms
    expect(alive(node.child)).toBe(true)
    expect(node.stderr()).toMatch(/"event":"relay:down"/)
    await start(RELAY_MAIN, ['--listen', `127.0.0.1:${String(relay.ready.port)}`, '--key-file', key], onTestFinished)
    await until(() => node.stderr().includes('"event":"relay:ready"'), 15_000, 'the relay reachable again')
    expect(node.stderr().split('\n').filter(l => l.includes('"event":"relay:down"'))).toHaveLength(1)
  })
})

describe('a graceful stop', () => {
  test('SIGTERM while a message waits for its relay: the waiting client gets a coded answer, the node exits 0', { timeout: 60_000 }, async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const relay = await start(RELAY_MAIN, ['--listen', '127.0.0.1:0'], onTestFinished)
    const endpoint = `${relay.ready.nodeId}@127.0.0.1:${String(relay.ready.port)}`
    const b = await start(NODE_MAIN, ['run', '--json', '--relay', endpoint, '--state-dir', join(dir, 'b')], onTestFinished)
    // B's record names the relay once it registered.
    await until(() => {
      try { return decodeContactRecord(Buffer.from(readFileSync(join(dir, 'b', 'record'), 'utf8').trim(), 'base64')).endpoints.some(e => e.kind === 'relay') } catch { return false }
    }, 10_000, 'B registered')
    const a = await start(NODE_MAIN, ['run', '--json', '--listen', '127.0.0.1:0', '--state-dir', join(dir, 'a'), '--peer-record', join(dir, 'b', 'record')], onTestFinished)
    relay.child.kill('SIGKILL')
    await new Promise(resolve => relay.child.once('exit', resolve))
    const sending = exec(['send', b.ready.nodeId, 'are you there?', '--state-dir', join(dir, 'a'), '--timeout-ms', '30000'])
    // The message waits for a route (the relay is down): wait until the node holds it, however slow the start.
    await until(async () => {
      const st = await exec(['status', '--json', '--state-dir', join(dir, 'a')])
      try { return (JSON.parse(st.out) as { counters: { unacked: { messages: number } } }).counters.unacked.messages > 0 } catch { return false }
    }, 20_000, 'A holds the message')
    a.child.kill('SIGTERM')
    const [code] = await new Promise<[number | null]>(resolve => a.child.once('exit', (c) => { resolve([c]) }))
    expect(code).toBe(0)
    const sent = await sending
    expect(sent.code).toBe(1)
    expect(sent.err).toMatch(/^egtp-node: ERR_CLOSED: /)
    expect(sent.err).not.toMatch(/closed the control connection/) // answered by the node, not cut off
  })
})

describe('the bins', () => {
  test('egtp-node is executable and linked for `pnpm exec` in the workspace', async () => {
    expect(() => { accessSync(NODE_MAIN, constants.X_OK) }).not.toThrow()
    const root = fileURLToPath(new URL('../../../node_modules/.bin/', import.meta.url))
    for (const bin of ['egtp-node', 'egtp-relay']) expect(existsSync(join(root, bin)), bin).toBe(true)
    const child = spawn(NODE_MAIN, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    const code = await new Promise(resolve => child.once('exit', resolve))
    expect(code).toBe(0)
    expect(out).toMatch(/usage: egtp-node COMMAND/)
  })
})

describe('the flag-only form the demo and scripts use', () => {
  test('`egtp-node --listen … --key-file … --data-dir …` prints its JSON ready line on stdout, spawned without IPC', async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const node = await start(NODE_MAIN, ['--listen', '127.0.0.1:0', '--key-file', join(dir, 'key'), '--data-dir', join(dir, 'data')], onTestFinished)
    expect(node.ready.nodeId).toMatch(/^[a-z2-7]{32}$/)
    expect(decodeContactRecord(Buffer.from(node.ready.record, 'base64')).nodeId).toBe(node.ready.nodeId)
    expect(statSync(join(dir, 'key')).mode & 0o777).toBe(0o600)
  })
})

describe('bad configuration: one line and exit status 2', () => {
  test.each([
    [['run', '--listen', '127.0.0.1:0', '--clock-window-ms', '-5'], /--clock-window-ms must be a positive integer, got "-5"/],
    [['run', '--listen', 'nowhere'], /--listen must be host:port/],
    [['run'], /give --listen, --relay, or both/],
    [['run', '--relay', 'off'], /--relay off needs --listen/],
    [['--no-such-option'], /Unknown option '--no-such-option'/],
    [['fly'], /unknown command "fly"/],
    [['ping', 'not-an-id', '--state-dir', '/tmp'], /NODE_ID/],
    [['send', generateIdentity().nodeId], /send takes 2 argument/],
    [['status'], /--state-dir is required/]
  ])('%j', async (args, message) => {
    const r = await exec(args)
    expect(r.code).toBe(2)
    expect(r.err.split('\n')[0]).toMatch(message)
    expect(r.err).not.toMatch(/\n {4}at /) // no stack trace
  })

  test('an uncreatable --data-dir or --state-dir, and a group-readable key file', async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    await writeFile(join(dir, 'file'), 'x')
    for (const args of [['--data-dir', join(dir, 'file', 'data')], ['--state-dir', join(dir, 'file', 'state')]]) {
      const r = await exec(['run', '--listen', '127.0.0.1:0', ...args])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err.split('\n')[0]).toMatch(/^egtp-node: --(data|state)-dir .*: ENOTDIR/)
    }
    expect((await exec(['id', '--state-dir', join(dir, 's')])).code).toBe(0)
    await chmod(join(dir, 's', 'identity.key'), 0o640)
    const r = await exec(['run', '--listen', '127.0.0.1:0', '--state-dir', join(dir, 's')])
    expect(r.code).toBe(2)
    expect(r.err.split('\n')[0]).toMatch(/ERR_KEYSTORE_PERMISSIONS/)
  })

  test('-h and --help answer on stdout with status 0, for every command', async () => {
    for (const args of [['-h'], ['--help'], ['run', '-h'], ['chat', '--help'], ['status', '-h']]) {
      const r = await exec(args)
      expect(r.code, args.join(' ')).toBe(0)
      expect(r.out).toMatch(/usage: egtp-node/)
    }
  })
})

describe('bad input over the control interfaces harms nothing', () => {
  test('IPC addContact with a tampered, forged, expired or garbage record: a coded answer, and the node runs on', async ({ onTestFinished }) => {
    const node = await start(NODE_MAIN, ['--listen', '127.0.0.1:0'], onTestFinished, true)
    const answers = new Map<number, { ok: boolean, code?: string }>()
    node.child.on('message', (m: { op: string, id: number, ok: boolean, code?: string }) => { if (m.op === 'result') answers.set(m.id, m) })
    const own = decodeContactRecord(Buffer.from(node.ready.record, 'base64'))
    const tampered = Buffer.from(node.ready.record, 'base64')
    tampered[tampered.length - 70] = tampered[tampered.length - 70]! ^ 1
    const other = generateIdentity()
    const forged = encodeContactRecord(contactRecordFromWire({ ...contactRecordToWire(own), k: other.publicKey }))
    // Past the expiry grace for clock skew (RECORD_EXPIRY_GRACE_MS): a recently expired record is still accepted.
    const expired = encodeContactRecord(createContactRecord(other, { seq: 1, expiresAt: Date.now() - RECORD_EXPIRY_GRACE_MS - 1000, endpoints: [] }))
    const cases: Array<[string, unknown]> = [
      ['tampered', tampered.toString('base64')], ['forged', Buffer.from(forged).toString('base64')],
      ['expired', Buffer.from(expired).toString('base64')], ['garbage', 'bm90IGEgcmVjb3Jk'], ['not a string', 42]
    ]
    // Without an id first (the demo's form): nothing to answer, nothing to crash.
    for (const [, record] of cases) node.child.send({ op: 'addContact', record })
    node.child.send({ op: 'no-such-op' })
    for (const [i, [, record]] of cases.entries()) node.child.send({ op: 'addContact', record, id: i + 1 })
    node.child.send({ op: 'stats', id: 100 })
    await until(() => answers.has(100), 5_000, 'the stats answer')
    for (const [i, [name]] of cases.entries()) {
      const a = answers.get(i + 1)
      expect(a?.ok, name).toBe(false)
      expect(a?.code, name).toMatch(/^ERR_/)
    }
    expect(answers.get(100)?.ok).toBe(true)
    expect(alive(node.child)).toBe(true)
  })

  test('the control socket is 0600 and answers garbage, unknown ops and bad fields with coded errors', async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const node = await start(NODE_MAIN, ['run', '--json', '--listen', '127.0.0.1:0', '--state-dir', dir], onTestFinished)
    const path = node.ready.controlSocket as string
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const socket = connect(path)
    onTestFinished(() => { socket.destroy() })
    let got = ''
    socket.on('data', (c: Buffer) => { got += c.toString() })
    socket.write('this is not json\n{"id":1,"op":"fly"}\n{"id":2,"op":"send","peer":"x"}\n{"id":3,"op":"query","peer":"' +
      generateIdentity().nodeId + '","type":"echo","timeoutMs":-1}\n{"id":4,"op":"addContact","record":"AAAA"}\n{"id":5,"op":"status"}\n')
    await until(() => got.split('\n').length > 6, 5_000, 'six answers')
    const answers = got.trim().split('\n').map(l => JSON.parse(l) as { id: number | null, ok: boolean, code?: string })
    expect(answers.find(a => a.id === null)?.code).toBe('ERR_MALFORMED')
    expect(answers.find(a => a.id === 1)?.code).toBe('ERR_UNKNOWN_TYPE')
    expect(answers.find(a => a.id === 2)?.code).toBe('ERR_BAD_NODE_ID')
    expect(answers.find(a => a.id === 3)?.code).toBe('ERR_FIELD')
    expect(answers.find(a => a.id === 4)?.code).toMatch(/^ERR_(FIELD|MALFORMED)$/)
    expect(answers.find(a => a.id === 5)?.ok).toBe(true)
    expect(alive(node.child)).toBe(true)
  })
})

describe('two people on one machine', () => {
  test('chat with nothing but egtp-node commands', { timeout: 60_000 }, async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const [da, db] = [join(dir, 'a'), join(dir, 'b')]
    const a = await start(NODE_MAIN, ['run', '--json', '--listen', '127.0.0.1:0', '--state-dir', da], onTestFinished)
    const b = await start(NODE_MAIN, ['run', '--json', '--listen', '127.0.0.1:0', '--state-dir', db, '--peer-record', join(da, 'record')], onTestFinished)
    const idA = (await exec(['id', '--state-dir', da])).out.trim()
    const idB = (await exec(['id', '--state-dir', db])).out.trim()
    expect(idA).toBe(a.ready.nodeId)
    expect(idB).toBe(b.ready.nodeId)
    expect((await exec(['ping', idA, '--state-dir', db])).out).toMatch(/echo in [\d.]+ ms/)
    expect(await exec(['query', idA, 'echo', '{"n":1}', '--state-dir', db])).toMatchObject({ code: 0, out: '{"n":1}\n' })

    // B opens a chat with A first (A has no record of B yet: it learns it from B's first message).
    const open = (peer: string, stateDir: string): { write: (l: string) => void, out: () => string, end: () => Promise<unknown> } => {
      const child = spawn(process.execPath, [NODE_MAIN, 'chat', peer, '--state-dir', stateDir], { stdio: ['pipe', 'pipe', 'pipe'] })
      onTestFinished(() => { if (alive(child)) child.kill('SIGKILL') })
      let out = ''
      child.stdout.on('data', (c: Buffer) => { out += c.toString() })
      let err = ''
      child.stderr.on('data', (c: Buffer) => { err += c.toString() })
      return {
        write: (l) => { child.stdin.write(`${l}\n`) },
        out: () => out + err,
        end: async () => { child.stdin.end(); return await new Promise(resolve => child.once('exit', resolve)) }
      }
    }
    const chatOfB = open(idA, db)
    const chatOfA = open(idB, da)
    await until(() => chatOfB.out().includes('chatting with') && chatOfA.out().includes('chatting with'), 10_000, 'both chats open')
    chatOfB.write('hello A, this is B')
    await until(() => chatOfA.out().includes(`${idB.slice(0, 8)}> hello A, this is B`), 10_000, 'A sees B\'s line')
    chatOfA.write('hi B')
    await until(() => chatOfB.out().includes(`${idA.slice(0, 8)}> hi B`), 10_000, 'B sees A\'s reply')
    expect(await chatOfA.end()).toBe(0)
    expect(await chatOfB.end()).toBe(0)
    // The running nodes printed what arrived too.
    expect(a.lines.some(l => l.includes('hello A, this is B'))).toBe(true)

    const status = JSON.parse((await exec(['status', '--state-dir', da, '--json'])).out) as { sessions: Array<{ peerId: string }>, counters: { messagesReceived: number } }
    expect(status.sessions.map(s => s.peerId)).toContain(idB)
    expect(status.counters.messagesReceived).toBeGreaterThanOrEqual(1)
    const human = await exec(['status', '--state-dir', da])
    expect(human.out).toMatch(/^node \w+ {2}up/)
    expect(human.out).toMatch(/relays \(0\)/)
  })

  test('without a running node, a client says how to start one (exit 1, one line)', async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const r = await exec(['ping', generateIdentity().nodeId, '--state-dir', dir])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/^egtp-node: ERR_UNREACHABLE: no egtp-node runs with state directory .*egtp-node run --state-dir/)
  })
})

describe('node flags', () => {
  test('the bin, dist/main.js and `pnpm start` run Node with EGTP_NODE_FLAGS', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string }, bin: Record<string, string> }
    // The installed command is the committed launcher (bin/egtp-node.js), which imports dist/main.js.
    const launcher = readFileSync(new URL(`../${pkg.bin['egtp-node']!}`, import.meta.url), 'utf8').split('\n')[0]!
    const shebang = readFileSync(NODE_MAIN, 'utf8').split('\n')[0]!
    expect(EGTP_NODE_FLAGS.length).toBeGreaterThan(0)
    for (const flag of EGTP_NODE_FLAGS) {
      expect(launcher.split(' ')).toContain(flag)
      expect(shebang.split(' ')).toContain(flag)
      expect(pkg.scripts.start.split(' ')).toContain(flag)
    }
  })
})

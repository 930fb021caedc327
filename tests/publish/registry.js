// A throwaway Verdaccio registry on 127.0.0.1 (no uplink for @egtp/*, the public registry for the rest),
// a throwaway user and an npm userconfig of its own: nothing touches the user's ~/.npmrc.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const VERDACCIO = fileURLToPath(new URL('./node_modules/verdaccio/bin/verdaccio', import.meta.url))

async function freePort () {
  const server = createServer()
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise(resolve => server.close(resolve))
  return port
}

/** An environment for npm/pnpm without whatever npm_config_* the calling package manager set. */
export function cleanEnv (extra) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|pnpm_|PNPM_)/i.test(k)) env[k] = v
  return { ...env, ...extra }
}

/**
 * Start the registry in `dir`; resolves with its URL, an env whose npm config points at it with a token,
 * and stop(). `uplink` is the registry packages other than @egtp/* come from.
 */
export async function startRegistry (dir, uplink) {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/`
  const config = join(dir, 'verdaccio.yaml')
  writeFileSync(config, `storage: ${join(dir, 'storage')}
auth:
  htpasswd:
    file: ${join(dir, 'htpasswd')}
    max_users: 10
uplinks:
  public:
    url: ${uplink}
    timeout: 120s
    max_fails: 1000
    fail_timeout: 1s
packages:
  '@egtp/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    publish: $authenticated
    proxy: public
server:
  keepAliveTimeout: 60
max_body_size: 200mb
log: { type: stdout, format: json, level: error }
`)
  const child = spawn(process.execPath, [VERDACCIO, '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv({}) })
  let output = ''
  child.stdout.on('data', (c) => { output += c })
  child.stderr.on('data', (c) => { output += c })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await new Promise(resolve => child.once('exit', resolve))
  }
  try {
    const deadline = Date.now() + 30_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`verdaccio exited: ${output}`)
      const ok = await fetch(`${url}-/ping`).then(r => r.ok, () => false)
      if (ok) break
      if (Date.now() > deadline) throw new Error(`verdaccio did not answer within 30 s: ${output}`)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    // npm refuses an anonymous publish (ENEEDAUTH): a throwaway user, and its token.
    const name = `egtp-test-${process.pid}`
    const res = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password: `pw-${Math.random()}`, email: 'test@example.invalid', type: 'user', roles: [] })
    })
    const body = await res.json()
    if (typeof body.token !== 'string') throw new Error(`could not create a registry user: ${res.status} ${JSON.stringify(body)}`)
    const userconfig = join(dir, 'npmrc')
    writeFileSync(userconfig, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${body.token}\n`)
    const env = cleanEnv({
      npm_config_userconfig: userconfig,
      npm_config_registry: url,
      npm_config_cache: join(dir, 'npm-cache'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      npm_config_loglevel: 'error'
    })
    return { url, env, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

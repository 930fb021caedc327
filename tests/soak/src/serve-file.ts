#!/usr/bin/env node
// Serves one file (the signed bootpage) over node:http inside a namespace; prints a JSON ready line.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'

const [file, host, port] = process.argv.slice(2)
if (file === undefined || host === undefined || port === undefined) {
  process.stderr.write('serve-file FILE HOST PORT\n')
  process.exit(2)
}
const server = createServer((req, res) => {
  const body = readFileSync(file)
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
})
server.listen(Number(port), host, () => { process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid })}\n`) })
process.on('SIGTERM', () => { server.close(); process.exit(0) })

#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=1
'use strict';
/**
 * The floor of the start-up comparison: Node.js alone doing the work the proxy does for its
 * first manifest of a docker:// image on the bench's anonymous plain-http registry — answer
 * `GET /manifest` on the socket at fd 3 after trying https (as containers/image does), pinging
 * /v2/ over http, fetching the manifest and its config and checking the config's digest — with
 * only Node's builtins, the bin's V8 flags and none of the proxy's code, configuration or
 * checks. What the proxy takes beyond this is its own; up to this is Node's.
 *
 * Usage (as the bench spawns a form of the proxy): node-floor.cjs --sockfd 3 ... docker://HOST:PORT/REPO:TAG
 */
const http = require('node:http');
const net = require('node:net');
const tls = require('node:tls');
const { createHash } = require('node:crypto');

const reference = process.argv[process.argv.length - 1].replace(/^docker:\/\//, '');
const [registry, ...path] = reference.split('/');
const [repository, tag] = path.join('/').split(':');
const [hostname, port] = registry.split(':');
const sha256 = (bytes) => 'sha256:' + createHash('sha256').update(bytes).digest('hex');

function get(path, accept = '*/*') {
  return new Promise((resolve, reject) => {
    http
      .get({ host: hostname, port, path, headers: { accept } }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${path}: ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

async function manifest() {
  await new Promise((resolve) => {
    const socket = tls.connect({ host: hostname, port, rejectUnauthorized: false, ca: [] });
    socket.once('error', resolve).once('secureConnect', () => resolve(socket.destroy()));
  });
  await get('/v2/');
  const body = await get(`/v2/${repository}/manifests/${tag}`, 'application/vnd.oci.image.manifest.v1+json');
  const { config } = JSON.parse(body);
  const configBody = await get(`/v2/${repository}/blobs/${config.digest}`);
  if (sha256(configBody) !== config.digest) throw new Error(`config ${config.digest} does not match its digest`);
  JSON.parse(configBody);
  return body;
}

const server = http.createServer((req, res) => {
  if (req.url === '/quit') {
    res.on('finish', () => process.exit(0)).end();
    return;
  }
  manifest().then(
    (body) => res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'manifest-digest': sha256(body) }).end(body),
    (err) => res.writeHead(502).end(err.message),
  );
});
server.emit('connection', new net.Socket({ fd: 3, readable: true, writable: true }));

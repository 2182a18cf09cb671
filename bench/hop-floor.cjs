#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=1
'use strict';
/**
 * The floor of the proxy-hop comparison: Node.js alone doing what the proxy does for
 * `GET /blobs/<digest>` on the bench's anonymous plain-http registry — fetch the blob with
 * node:http, hash every chunk, write it to the socket at the `--sockfd` fd (with the proxy's
 * 1 MiB run-ahead, so both pause their upstream at the same point), and cut the body short if
 * the digest does not match — with only Node's builtins and none of the proxy's code or checks.
 * Any other GET answers `{}` (the reader's first `GET /manifest`); `POST /quit` ends the process.
 *
 * Usage (as bench/python-reader.py spawns a proxy): hop-floor.cjs --sockfd N ... docker://HOST:PORT/REPO:TAG
 */
const http = require('node:http');
const net = require('node:net');
const { createHash } = require('node:crypto');

const RUN_AHEAD_BYTES = 1 << 20;
const argv = process.argv.slice(2);
const fd = Number(argv[argv.indexOf('--sockfd') + 1]);
const reference = argv[argv.length - 1].replace(/^docker:\/\//, '');
const [registry, ...path] = reference.split('/');
const repository = path.join('/').split(':')[0];
const [hostname, port] = registry.split(':');
const agent = new http.Agent({ keepAlive: true });

function blob(digest, res) {
  http
    .get({ host: hostname, port, path: `/v2/${repository}/blobs/${digest}`, agent }, (upstream) => {
      if (upstream.statusCode !== 200) {
        upstream.resume();
        res.writeHead(502).end();
        return;
      }
      res.writeHead(200, { 'content-length': upstream.headers['content-length'] });
      const hash = createHash('sha256');
      upstream.on('data', (chunk) => {
        hash.update(chunk);
        if (!res.write(chunk)) {
          upstream.pause();
          res.once('drain', () => upstream.resume());
        }
      });
      upstream.on('end', () => (`sha256:${hash.digest('hex')}` === digest ? res.end() : res.destroy(new Error('digest mismatch'))));
    })
    .on('error', (err) => res.destroy(err));
}

const server = http.createServer({ highWaterMark: RUN_AHEAD_BYTES }, (req, res) => {
  if (req.method === 'POST' && req.url === '/quit') res.end(() => process.exit(0));
  else if (req.url.startsWith('/blobs/')) blob(req.url.slice('/blobs/'.length), res);
  else res.end('{}');
});
server.emit('connection', new net.Socket({ fd, readable: true, writable: true, writableHighWaterMark: RUN_AHEAD_BYTES }));

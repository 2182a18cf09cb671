import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { isProxyError } from '../../../src/domain/errors.js';
import { CertsDirectories, type HostTls, defaultCertsDirectories } from '../../../src/adapters/tls/certs-d.js';
import { type Pki, makePki } from './pki.js';

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  return expect.fail('expected a rejection');
}

describe('CertsDirectories', () => {
  let root: string;
  let pki: Pki;
  let counter = 0;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'certs-d-'));
    const pkiDir = join(root, 'pki');
    await mkdir(pkiDir);
    pki = await makePki(pkiDir);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Creates `<fresh base>/<sub>/<file>` for each entry and returns the base. */
  async function tree(files: Record<string, string>): Promise<string> {
    const base = join(root, `base-${counter++}`);
    await mkdir(base);
    for (const [relative, contents] of Object.entries(files)) {
      const path = join(base, relative);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, contents);
    }
    return base;
  }

  it('lists the default directories in c/image order', () => {
    expect(defaultCertsDirectories('/home/u')).to.deep.equal(['/home/u/.config/containers/certs.d', '/etc/containers/certs.d', '/etc/docker/certs.d']);
  });

  it('reads CAs and the client pair from the host directory', async () => {
    const base = await tree({
      'registry.test:5000/ca.crt': pki.caCert,
      'registry.test:5000/client.cert': pki.clientCert,
      'registry.test:5000/client.key': pki.clientKey,
    });
    const found = await new CertsDirectories({ dirs: [base] }).tlsFor('registry.test:5000');
    expect(found).to.deep.equal({ ca: [pki.caCert.trim()], cert: pki.clientCert, key: pki.clientKey });
  });

  it('takes every certificate of every .crt file and ignores what is not one', async () => {
    const base = await tree({
      'h/a.crt': `junk before\n${pki.caCert}\n${pki.otherCaCert}`,
      'h/b.crt': `-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n${pki.clientKey}`,
      'h/README': pki.caCert,
    });
    const found = await new CertsDirectories({ dirs: [base] }).tlsFor('h');
    expect(found).to.deep.equal({ ca: [pki.caCert.trim(), pki.otherCaCert.trim()] });
  });

  const choices: [string, (bases: string[]) => Promise<void>, number][] = [
    ['the first base with the host wins', async () => undefined, 0],
    ['a later base is used when earlier ones lack the host', async (bases) => rm(join(bases[0] ?? '', 'h'), { recursive: true }), 1],
  ];
  for (const [name, prepare, winner] of choices) {
    it(name, async () => {
      const bases = [await tree({ 'h/first.crt': pki.caCert }), await tree({ 'h/second.crt': pki.otherCaCert })];
      await prepare(bases);
      const found = await new CertsDirectories({ dirs: bases }).tlsFor('h');
      expect(found?.ca).to.deep.equal([[pki.caCert, pki.otherCaCert][winner]?.trim()]);
    });
  }

  it('an empty host directory in an earlier base hides later bases', async () => {
    const empty = await tree({ 'h/.keep': '' });
    const later = await tree({ 'h/ca.crt': pki.caCert });
    expect(await new CertsDirectories({ dirs: [empty, later] }).tlsFor('h')).to.equal(undefined);
  });

  it('looks docker.io up as docker.io, not registry-1.docker.io', async () => {
    const base = await tree({ 'docker.io/ca.crt': pki.caCert, 'registry-1.docker.io/ca.crt': pki.otherCaCert });
    expect((await new CertsDirectories({ dirs: [base] }).tlsFor('docker.io'))?.ca).to.deep.equal([pki.caCert.trim()]);
  });

  it('has nothing for a host without a directory, or no bases at all', async () => {
    const base = await tree({ 'other/ca.crt': pki.caCert });
    expect(await new CertsDirectories({ dirs: [base, join(root, 'missing')] }).tlsFor('h')).to.equal(undefined);
    expect(await new CertsDirectories({ dirs: [] }).tlsFor('h')).to.equal(undefined);
  });

  it('--cert-dir is used flat, for every host', async () => {
    const certDir = await tree({ 'ca.crt': pki.caCert, 'c.cert': pki.clientCert, 'c.key': pki.clientKey, 'h/ignored.crt': pki.otherCaCert });
    const store = new CertsDirectories({ certDir });
    for (const host of ['h', 'docker.io', 'localhost:5000']) {
      expect(await store.tlsFor(host)).to.deep.equal({ ca: [pki.caCert.trim()], cert: pki.clientCert, key: pki.clientKey });
    }
  });

  it('a missing --cert-dir has nothing', async () => {
    expect(await new CertsDirectories({ certDir: join(root, 'nowhere') }).tlsFor('h')).to.equal(undefined);
  });

  it('caches per host', async () => {
    const base = await tree({ 'h/ca.crt': pki.caCert });
    const store = new CertsDirectories({ dirs: [base] });
    const first = await store.tlsFor('h');
    await rm(join(base, 'h'), { recursive: true });
    expect(await store.tlsFor('h')).to.equal(first);
    expect(await store.tlsFor('other')).to.equal(undefined);
  });

  const broken: [string, Record<string, string>, string[]][] = [
    ['a .cert without its .key', { 'h/ca.crt': 'x', 'h/client.cert': 'CERT' }, ['client.cert', 'client.key']],
    ['a .key without its .cert', { 'h/client.key': 'KEY' }, ['client.key', 'client.cert']],
    ['a .cert that is not a certificate', { 'h/client.cert': 'garbage', 'h/client.key': 'KEY' }, ['client.cert']],
  ];
  for (const [name, files, named] of broken) {
    it(`${name} is config-invalid naming the file`, async () => {
      const base = await tree(files);
      const err = await rejectionOf(new CertsDirectories({ dirs: [base] }).tlsFor('h'));
      expect(isProxyError(err, 'config-invalid')).to.equal(true);
      for (const part of named) expect(err.message).to.contain(part);
      expect(err.message).to.contain(join(base, 'h'));
    });
  }

  const badKeys: [string, () => string, string][] = [
    ['a key that is not a key', () => 'not a key at all', 'is not a PEM private key'],
    ['a key of another certificate', () => pki.strayKey, 'does not belong to certificate'],
  ];
  for (const [name, key, says] of badKeys) {
    it(`${name} is config-invalid without the key's content`, async () => {
      const base = await tree({ 'h/client.cert': pki.clientCert, 'h/client.key': key() });
      const err = await rejectionOf(new CertsDirectories({ dirs: [base] }).tlsFor('h'));
      expect(isProxyError(err, 'config-invalid')).to.equal(true);
      expect(err.message)
        .to.contain(says)
        .and.to.contain(join(base, 'h', 'client.key'));
      expect(`${err.message}\n${err.stack ?? ''}`).not.to.contain(key().split('\n')[1] ?? key());
    });
  }

  it('a host path entry that is not a directory is config-invalid', async () => {
    const base = await tree({ h: 'a file, not a directory' });
    const err = await rejectionOf(new CertsDirectories({ dirs: [base] }).tlsFor('h'));
    expect(isProxyError(err, 'config-invalid')).to.equal(true);
    expect(err.message).to.contain(join(base, 'h'));
  });

  for (const host of ['', '..', 'a/b']) {
    it(`refuses the host "${host}"`, async () => {
      const err = await rejectionOf(new CertsDirectories({ dirs: [root] }).tlsFor(host));
      expect(isProxyError(err, 'invalid-reference')).to.equal(true);
    });
  }

  describe('the material works in a real TLS handshake', () => {
    let server: tls.Server;
    let port: number;
    let clientSeen: string | undefined;

    before(async () => {
      server = tls.createServer({ cert: pki.serverCert, key: pki.serverKey, ca: [pki.caCert], requestCert: true, rejectUnauthorized: true }, (socket) => {
        clientSeen = String(socket.getPeerCertificate().subject?.CN);
        socket.end('hello');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    function connect(material: HostTls | undefined): Promise<string> {
      return new Promise((resolve, reject) => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: [...tls.rootCertificates, ...(material?.ca ?? [])],
          cert: material?.cert,
          key: material?.key,
        });
        let body = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (body += chunk));
        socket.on('end', () => resolve(body));
        socket.on('error', reject);
      });
    }

    it('system roots plus the certs.d CA verify the server, and the client certificate is accepted', async () => {
      const base = await tree({ 'localhost/ca.crt': pki.caCert, 'localhost/me.cert': pki.clientCert, 'localhost/me.key': pki.clientKey });
      const material = await new CertsDirectories({ dirs: [base] }).tlsFor('localhost');
      expect(await connect(material)).to.equal('hello');
      expect(clientSeen).to.equal('test-client');
    });

    it('without the certs.d CA the server is not trusted', async () => {
      const err = await rejectionOf(connect(undefined));
      expect((err as NodeJS.ErrnoException).code).to.match(/CERT|SELF_SIGNED|UNABLE/);
    });
  });
});

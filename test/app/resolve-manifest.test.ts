import { expect } from 'chai';
import { openFirstSource } from '../../src/app/core/use-cases/open-source.js';
import { ResolveManifest, type ResolvedImage } from '../../src/app/core/use-cases/resolve-manifest.js';
import { digestOf } from '../../src/domain/digest.js';
import { isProxyError, ProxyError, type ErrorCode } from '../../src/domain/errors.js';
import { MediaType } from '../../src/domain/media-types.js';
import { type Platform } from '../../src/domain/platform.js';
import { formatImageName, parseImageName } from '../../src/domain/reference.js';
import { type Log } from '../../src/ports/log.js';
import { type RegistriesConfig } from '../../src/ports/registries-config.js';
import { type Transport } from '../../src/ports/transport.js';
import { PLATFORMS, standardFixtures, type FixtureImage } from '../support/image-fixtures.js';
import { MemoryRegistriesConfig, MemorySignaturePolicy, MemoryTransport, RecordingLog } from '../support/memory-ports/index.js';

/**
 * Manifest resolution driven through its ports with in-memory implementations: which pull
 * sources are tried and in what order, which platform is chosen, what the policy is asked and
 * when it refuses, and which error a client gets when sources fail, alone or together.
 */

const PRIMARY = 'docker://reg.example.com/ns/app:1';
const MIRROR_1 = 'docker://m1.local/ns/app:1';
const MIRROR_2 = 'docker://m2.local/ns/app:1';

/** reg.example.com/ns is mirrored by m1.local/ns, then m2.local/ns (marked insecure). */
const TWO_MIRRORS = `
[[registry]]
prefix = "reg.example.com/ns"
location = "reg.example.com/ns"
[[registry.mirror]]
location = "m1.local/ns"
[[registry.mirror]]
location = "m2.local/ns"
insecure = true
`;

interface Setup {
  readonly transport?: MemoryTransport;
  readonly registries?: RegistriesConfig;
  readonly policy?: MemorySignaturePolicy;
  readonly platforms?: readonly Platform[];
}

function resolver(setup: Setup) {
  const transport = setup.transport ?? new MemoryTransport();
  const policy = setup.policy ?? new MemorySignaturePolicy();
  const log = new RecordingLog();
  const transports = new Map<string, Transport>([[transport.name, transport]]);
  const resolve = new ResolveManifest({
    transports,
    registries: setup.registries ?? new MemoryRegistriesConfig(),
    policy,
    platforms: setup.platforms ?? [PLATFORMS.amd64],
    log,
  });
  return { transport, policy, log, resolve: (image: string, signal?: AbortSignal) => resolve.execute(parseImageName(image), signal) };
}

async function failure(promise: Promise<unknown>): Promise<ProxyError> {
  const err = await promise.then(
    () => expect.fail('expected a rejection'),
    (reason: unknown) => reason,
  );
  if (!isProxyError(err)) expect.fail(`expected a ProxyError, got ${String(err)}`);
  return err;
}

async function expectFailure(promise: Promise<unknown>, code: ErrorCode): Promise<ProxyError> {
  const err = await failure(promise);
  expect(err.code, err.message).to.equal(code);
  return err;
}

const opened = (transport: MemoryTransport): string[] => transport.opens.map((open) => open.image);
const served = (image: ResolvedImage): string => formatImageName(image.source.reference);

describe('ResolveManifest with in-memory ports: pull sources', () => {
  const image = (): FixtureImage => standardFixtures().ociSingle;

  it('tries the mirrors in registries.conf order and the primary last', async () => {
    const { transport, resolve, log } = resolver({
      transport: new MemoryTransport().store(PRIMARY, image()),
      registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS),
    });
    const resolved = await resolve(PRIMARY);
    expect(opened(transport)).to.deep.equal([MIRROR_1, MIRROR_2, PRIMARY]);
    expect(served(resolved)).to.equal(PRIMARY);
    expect(resolved.manifestDigest).to.equal(image().manifest.digest);
    const outcomes = log.of('pull-source').map((r) => `${String(r.fields.role)} ${String(r.fields.outcome)}`);
    expect(outcomes).to.deep.equal(['mirror trying', 'mirror failed', 'mirror trying', 'mirror failed', 'primary trying', 'primary served']);
    expect(
      log
        .of('pull-source')
        .filter((r) => r.fields.outcome === 'failed')
        .map((r) => r.level),
    ).to.deep.equal(['warn', 'warn']);
  });

  it('the first mirror that has the image serves it; later sources are not contacted', async () => {
    const { transport, resolve } = resolver({
      transport: new MemoryTransport().store(MIRROR_2, image()).store(PRIMARY, image()),
      registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS),
    });
    const resolved = await resolve(PRIMARY);
    expect(opened(transport)).to.deep.equal([MIRROR_1, MIRROR_2]);
    expect(served(resolved)).to.equal(MIRROR_2);
  });

  it('each source gets its own insecure setting, and every one the registry asked for (for credentials)', async () => {
    const { transport, resolve } = resolver({
      transport: new MemoryTransport().store(PRIMARY, image()),
      registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS),
    });
    await resolve(PRIMARY);
    expect(transport.opens.map((open) => open.options)).to.deep.equal([
      { insecure: false, requestedRegistry: 'reg.example.com' },
      { insecure: true, requestedRegistry: 'reg.example.com' },
      { insecure: false, requestedRegistry: 'reg.example.com' },
    ]);
  });

  it('a mirror blocked in registries.conf is never contacted', async () => {
    const blocked = `${TWO_MIRRORS}\n[[registry]]\nlocation = "m1.local"\nblocked = true\n`;
    const { transport, resolve, log } = resolver({
      transport: new MemoryTransport().store(PRIMARY, image()),
      registries: MemoryRegistriesConfig.fromToml(blocked),
    });
    expect(served(await resolve(PRIMARY))).to.equal(PRIMARY);
    expect(opened(transport)).to.deep.equal([MIRROR_2, PRIMARY]);
    expect(log.of('pull-source').find((r) => r.fields.source === MIRROR_1 && r.fields.outcome === 'failed')?.fields.code).to.equal('blocked');
  });

  it('a pinned digest: a mirror whose manifest hashes otherwise is passed over for the primary', async () => {
    const { digest } = image().manifest;
    const pinned = (name: string) => `${name.slice(0, name.lastIndexOf(':'))}@${digest}`;
    const transport = new MemoryTransport()
      .putManifest(pinned(MIRROR_1), { bytes: standardFixtures().dockerSingle.manifest.bytes, mediaType: MediaType.dockerSchema2 })
      .store(pinned(PRIMARY), image());
    const { resolve, log } = resolver({ transport, registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS) });
    const resolved = await resolve(pinned(PRIMARY));
    expect(served(resolved)).to.equal(pinned(PRIMARY));
    expect(resolved.manifestDigest).to.equal(digest);
    expect(log.of('pull-source').find((r) => r.fields.source === pinned(MIRROR_1) && r.fields.outcome === 'failed')?.fields.code).to.equal('digest-mismatch');
  });

  it('without registries.conf the reference itself is the only source', async () => {
    const { transport, resolve } = resolver({ transport: new MemoryTransport().store(PRIMARY, image()) });
    expect(served(await resolve(PRIMARY))).to.equal(PRIMARY);
    expect(opened(transport)).to.deep.equal([PRIMARY]);
  });

  it('a transport that is not wired: unsupported-transport, naming those that are', async () => {
    const { resolve } = resolver({});
    const err = await expectFailure(resolve('oci:/srv/layout:app'), 'unsupported-transport');
    expect(err.message).to.include('oci:').and.include('available: docker');
  });

  it('an aborted request stops before the next source', async () => {
    const controller = new AbortController();
    const transport = new MemoryTransport().down('m1.local').store(PRIMARY, image());
    const registries = MemoryRegistriesConfig.fromToml(TWO_MIRRORS);
    // The caller gives up as the first mirror's failure is logged: no further source may be opened.
    const aborting: Log = {
      record: (_level, _event, _message, fields) => {
        if (fields?.outcome === 'failed') controller.abort();
      },
    };
    const err = await openFirstSource(parseImageName(PRIMARY), new Map([['docker', transport]]), registries, aborting, controller.signal).then(
      () => expect.fail('expected an abort'),
      (reason: unknown) => reason as Error,
    );
    expect(err.name).to.equal('AbortError');
    expect(opened(transport)).to.deep.equal([MIRROR_1]);
  });
});

describe('ResolveManifest with in-memory ports: platform choice', () => {
  const fixtures = () => standardFixtures();
  const instanceFor = (platform: Platform) =>
    fixtures().ociIndex.instances.find((i) => i.platform.architecture === platform.architecture && i.platform.variant === platform.variant)!;

  it('chooses the instance for the wanted platform; the list digest and the instance digest are both reported', async () => {
    const { resolve } = resolver({ transport: new MemoryTransport().store(PRIMARY, fixtures().ociIndex), platforms: [PLATFORMS.arm64] });
    const resolved = await resolve(PRIMARY);
    const arm64 = instanceFor(PLATFORMS.arm64);
    expect(resolved.manifestDigest).to.equal(fixtures().ociIndex.manifest.digest);
    expect(resolved.instanceDigest).to.equal(arm64.manifest.digest);
    expect(digestOf(resolved.ociManifest), 'an OCI instance is served byte for byte').to.equal(arm64.manifest.digest);
    expect(resolved.configDigest).to.equal(arm64.config.digest);
  });

  it('from a list of wanted platforms, the first one the index has wins, whatever the index order', async () => {
    const s390x = { os: 'linux', architecture: 's390x' };
    const { resolve } = resolver({
      transport: new MemoryTransport().store(PRIMARY, fixtures().ociIndex),
      platforms: [s390x, PLATFORMS.armv7, PLATFORMS.amd64],
    });
    expect((await resolve(PRIMARY)).instanceDigest).to.equal(instanceFor(PLATFORMS.armv7).manifest.digest);
  });

  it('a docker manifest list: the chosen instance is converted to OCI, its digest the one before conversion', async () => {
    const list = fixtures().dockerList;
    const { resolve } = resolver({ transport: new MemoryTransport().store(PRIMARY, list), platforms: [PLATFORMS.arm64] });
    const resolved = await resolve(PRIMARY);
    const arm64 = list.instances.find((i) => i.platform.architecture === 'arm64')!;
    expect(resolved.instanceDigest).to.equal(arm64.manifest.digest);
    const oci = JSON.parse(Buffer.from(resolved.ociManifest).toString('utf8')) as { mediaType: string; config: { mediaType: string } };
    expect([oci.mediaType, oci.config.mediaType]).to.deep.equal([MediaType.ociManifest, MediaType.ociConfig]);
    expect(digestOf(resolved.ociManifest)).to.not.equal(arm64.manifest.digest);
    expect(resolved.configDigest).to.equal(digestOf(resolved.ociConfig));
  });

  it('no instance for any wanted platform: no-matching-platform naming the first, and the source is closed', async () => {
    const { transport, resolve, policy } = resolver({
      transport: new MemoryTransport().store(PRIMARY, fixtures().ociIndex),
      platforms: [{ os: 'windows', architecture: 'amd64' }],
    });
    const err = await expectFailure(resolve(PRIMARY), 'no-matching-platform');
    expect(err.message).to.include('"amd64"').and.include('"windows"');
    expect(policy.subjects, 'the policy is never asked about an image that cannot be served').to.have.length(0);
    expect(transport.openSources).to.equal(0);
  });

  it('the policy judges the chosen instance, under the logical reference, at the source that served it', async () => {
    const { resolve, policy } = resolver({
      transport: new MemoryTransport().store(MIRROR_1, fixtures().ociIndex),
      registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS),
      platforms: [PLATFORMS.arm64],
    });
    await resolve(PRIMARY);
    expect(policy.subjects).to.have.length(1);
    const [subject] = policy.subjects;
    expect(formatImageName(subject!.reference)).to.equal(PRIMARY);
    expect(formatImageName(subject!.source.reference)).to.equal(MIRROR_1);
    expect(subject!.manifest.digest).to.equal(fixtures().ociIndex.manifest.digest);
    expect(subject!.instance?.digest).to.equal(instanceFor(PLATFORMS.arm64).manifest.digest);
  });
});

describe('ResolveManifest with in-memory ports: refusals and failures', () => {
  const image = (): FixtureImage => standardFixtures().ociSingle;

  it("a policy refusal: policy-rejected with the policy's reason, logged, and the source closed", async () => {
    const { transport, resolve, log } = resolver({
      transport: new MemoryTransport().store(MIRROR_1, image()),
      registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS),
      policy: MemorySignaturePolicy.refusing('docker://reg.example.com/ns/', 'not signed by the release key'),
    });
    const err = await expectFailure(resolve(PRIMARY), 'policy-rejected');
    expect(err.message).to.equal(`${PRIMARY} is rejected by the in-memory policy: not signed by the release key`);
    expect(log.of('policy').map((r) => [r.level, r.fields.allowed])).to.deep.equal([['info', false]]);
    expect(transport.openSources).to.equal(0);
  });

  it('a refusal is for the logical name: the same image under another name is allowed', async () => {
    const { resolve } = resolver({
      transport: new MemoryTransport().store(MIRROR_1, image()),
      policy: MemorySignaturePolicy.refusing('docker://reg.example.com/'),
    });
    expect(served(await resolve(MIRROR_1))).to.equal(MIRROR_1);
  });

  it("not found, no mirrors: image-not-found with the source's own message and upstream code", async () => {
    const { resolve } = resolver({});
    const err = await expectFailure(resolve(PRIMARY), 'image-not-found');
    expect(err.message).to.equal('manifest 1 unknown in reg.example.com/ns/app');
    expect(err.upstreamCode).to.equal('MANIFEST_UNKNOWN');
  });

  it("not found anywhere: the primary's error first, then each mirror's in order", async () => {
    const { resolve } = resolver({ registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS) });
    const err = await expectFailure(resolve(PRIMARY), 'image-not-found');
    expect(err.message).to.equal(
      `${PRIMARY}: manifest 1 unknown in reg.example.com/ns/app (mirrors also failed: ` +
        `[${MIRROR_1}: manifest 1 unknown in m1.local/ns/app] [${MIRROR_2}: manifest 1 unknown in m2.local/ns/app])`,
    );
    expect(err.upstreamCode).to.equal('MANIFEST_UNKNOWN');
  });

  it("mirrors down and the primary not found: image-not-found (the primary decides the code), each mirror's outage said once", async () => {
    const { resolve } = resolver({
      transport: new MemoryTransport().down('m1.local').down('m2.local'),
      registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS),
    });
    const err = await expectFailure(resolve(PRIMARY), 'image-not-found');
    expect(err.message).to.equal(
      `${PRIMARY}: manifest 1 unknown in reg.example.com/ns/app (mirrors also failed: ` +
        `[${MIRROR_1}: connection to m1.local refused] [${MIRROR_2}: connection to m2.local refused])`,
    );
  });

  it("a mirror without the image and the primary down: network, the primary's outage first", async () => {
    const { resolve } = resolver({
      transport: new MemoryTransport().down('reg.example.com').down('m2.local'),
      registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS),
    });
    const err = await expectFailure(resolve(PRIMARY), 'network');
    expect(err.message).to.equal(
      `${PRIMARY}: connection to reg.example.com refused (mirrors also failed: ` +
        `[${MIRROR_1}: manifest 1 unknown in m1.local/ns/app] [${MIRROR_2}: connection to m2.local refused])`,
    );
    expect(err.upstreamCode).to.equal(undefined);
  });

  it("a mirror that refuses credentials and a primary that is blocked: blocked, and the mirror's refusal kept", async () => {
    const conf = TWO_MIRRORS.replace('location = "reg.example.com/ns"\n', 'location = "reg.example.com/ns"\nblocked = true\n');
    const transport = new MemoryTransport().failHost('m1.local', new ProxyError('unauthorized', 'm1.local: authentication required')).down('m2.local');
    const { resolve } = resolver({ transport, registries: MemoryRegistriesConfig.fromToml(conf) });
    const err = await expectFailure(resolve(PRIMARY), 'blocked');
    expect(err.message).to.match(/^docker:\/\/reg\.example\.com\/ns\/app:1: registry of .* is blocked in registries\.conf \(mirrors also failed: /);
    expect(err.message).to.include(`[${MIRROR_1}: m1.local: authentication required]`).and.include(`[${MIRROR_2}: connection to m2.local refused]`);
    expect(opened(transport), 'a blocked primary is never contacted').to.deep.equal([MIRROR_1, MIRROR_2]);
  });

  it('a source that is found but then fails is closed before the next is tried', async () => {
    const { digest } = image().manifest;
    const pinned = (name: string) => `${name.slice(0, name.lastIndexOf(':'))}@${digest}`;
    const transport = new MemoryTransport()
      .putManifest(pinned(MIRROR_1), { bytes: new TextEncoder().encode('{}'), mediaType: MediaType.ociManifest })
      .putManifest(pinned(MIRROR_2), { bytes: new TextEncoder().encode('{ }'), mediaType: MediaType.ociManifest });
    const { resolve } = resolver({ transport, registries: MemoryRegistriesConfig.fromToml(TWO_MIRRORS) });
    const err = await expectFailure(resolve(pinned(PRIMARY)), 'image-not-found');
    expect(err.message)
      .to.include('digest')
      .and.include(`[${pinned(MIRROR_1)}: manifest of ${pinned(MIRROR_1)} hashes to sha256:`);
    expect(transport.openSources).to.equal(0);
  });
});

# Regenerates testdata/jarm.json and testdata/jarm_pyparity.json.gz from Salesforce's
# jarm.py (github.com/salesforce/jarm, unmodified, kept OUTSIDE this repository).
#
#   go test -c -o /tmp/fp.test ./internal/fingerprint/
#   JARM_PY=/path/to/jarm.py FP_TEST=/tmp/fp.test /usr/bin/python3 \
#     internal/fingerprint/testdata/jarm_reference.py \
#     go-default,go-tls12-rsa-ciphers,go-rsa-alpn-h2,openssl-default,openssl-tls12-ecdhe-rsa-aes128gcm,openssl-ecdsa-alpn-http11 \
#     internal/fingerprint/testdata/jarm.json internal/fingerprint/testdata/jarm_pyparity.json.gz
#
# For each server (started by the test binary's TestJARMServeReference on loopback)
# it records jarm.py's own CLI output (the JARM and the raw scans, -v), then runs
# jarm.py's functions: the ten probes with os.urandom returning zeros and
# random.choice taking the first element, read_packet on every real reply and on
# truncated and mutated copies, and jarm_hash on raw strings built from them.
import json, os, subprocess, sys, random, re, gzip

JARM = os.environ['JARM_PY']
FP_TEST = os.environ['FP_TEST']
# The test that serves a named reference server, and its package (the prober's tests
# serve DECNET's own https service the same way: SERVE_TEST=^TestJARMServeHTTPSReference$
# SERVE_PKG=./internal/prober/, and "-" as the parity file to skip it).
SERVE_TEST = os.environ.get('SERVE_TEST', '^TestJARMServeReference$')
SERVE_PKG = os.environ.get('SERVE_PKG', './internal/fingerprint/')
PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
src = open(JARM).read()
defs = src[:src.index('#Set destination host and port')]

def load(host):
    g = {'__name__': 'jarmdefs'}
    argv = sys.argv
    sys.argv = ['jarm.py', host]
    exec(compile(defs, JARM, 'exec'), g)
    sys.argv = argv
    g['destination_host'] = host
    return g

names = sys.argv[1].split(',')
out = {'servers': [], 'probes': [], 'replies': [], 'hashes': []}

# 1. deterministic probes: os.urandom -> zeros, random.choice -> first element
for host in ['127.0.0.1', 'decky.example']:
    g = load(host)
    real_urandom, real_choice = os.urandom, random.choice
    os.urandom = lambda n: bytes(n)
    random.choice = lambda l: l[0]
    qs = ['tls1_2_forward']
    try:
        src_main = src[src.index('def main():'):src.index('    #Assemble, send, and decipher')]
        # build the queue exactly as main() does
        loc = {'destination_host': host, 'destination_port': 443}
        qsrc = '\n'.join(l.strip() for l in src_main.splitlines() if '= [destination_host' in l or l.strip().startswith('queue ='))
        exec(qsrc, g, loc)
        for i, q in enumerate(loc['queue']):
            out['probes'].append({'host': host, 'index': i, 'hex': g['packet_building'](q).hex()})
    finally:
        os.urandom, random.choice = real_urandom, real_choice

def mutations(data):
    # truncations and single-byte changes: read_packet's answer on each
    seen = set()
    cuts = [0, 1, 5, 6, 10, 11, 43, 44, 45, 46, 47, 48, 49, 50, 53, 60, 80, 85, 90, 100, 120]
    for c in cuts:
        if c <= len(data):
            yield data[:c]
    rnd = random.Random(55555)
    for k in range(20):
        b = bytearray(data[:min(len(data), 130)])
        if not b:
            break
        for _ in range(rnd.randint(1, 3)):
            pos = rnd.randrange(0, min(len(b), 130))
            b[pos] = rnd.choice([0, 1, 2, 0x0b, 0x10, 0x11, 0x20, 0x2b, 0x7f, 0xff, rnd.randrange(256)])
        yield bytes(b)

for name in names:
    p = subprocess.Popen([FP_TEST, '-test.run', SERVE_TEST, '-test.v'],
                         env=dict(os.environ, DECNET_JARM_SERVE=name), stdout=subprocess.PIPE, text=True,
                         cwd=PKG)
    line = ''
    while not line.startswith('JARM-SERVER'):
        line = p.stdout.readline()
        if not line:
            raise SystemExit('server %s did not start' % name)
    _, sname, addr, version = line.strip().split(' ', 3)
    host, port = addr.rsplit(':', 1)
    cmd = ['/usr/bin/python3', JARM, host, '-p', port, '-v']
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    jarm = re.search(r'^JARM: (\w+)$', res.stdout, re.M).group(1)
    scans = re.findall(r'^Scan \d+: (.*?),?$', res.stdout, re.M)
    raw = ','.join(scans)
    assert g['jarm_hash'](raw) == jarm, (raw, jarm)
    out['servers'].append({'name': name, 'software': version, 'jarm': jarm, 'raw': raw,
                           'command': '/usr/bin/python3 jarm.py 127.0.0.1 -p PORT -v'})
    out['hashes'].append({'raw': raw, 'jarm': jarm})
    # replies: jarm.py's probes sent with its send_packet, its read_packet on the reply and on variants
    g = load(host)
    g['destination_port'] = int(port)
    loc = {'destination_host': host, 'destination_port': int(port)}
    exec(qsrc, g, loc)
    mutated = set()
    for q in loc['queue']:
        data, _ = g['send_packet'](g['packet_building'](q))
        if not isinstance(data, (bytes, bytearray)):
            continue
        variants = [bytes(data)]
        comp = g['read_packet'](bytearray(data), q)
        if comp not in mutated and len(mutated) < 4:
            mutated.add(comp)
            variants += list(mutations(bytes(data)))
        for d in variants:
            out['replies'].append({'hex': d.hex(), 'component': g['read_packet'](bytearray(d), q)})
    p.kill()
    p.wait()
    print('done', name, jarm, file=sys.stderr)

# jarm_hash on raw strings built from the reply components (those jarm.py does not crash on)
rnd = random.Random(7)
comps = [r['component'] for r in out['replies']]
for k in range(60):
    raw = ','.join(rnd.choice(comps) for _ in range(10))
    try:
        out['hashes'].append({'raw': raw, 'jarm': g['jarm_hash'](raw)})
    except Exception:
        pass
out['hashes'].append({'raw': '|||,|||,|||,|||,|||,|||,|||,|||,|||,|||', 'jarm': g['jarm_hash']('|||,|||,|||,|||,|||,|||,|||,|||,|||,|||')})
# dedupe replies
seen = set(); reps = []
for r in out['replies']:
    if r['hex'] not in seen:
        seen.add(r['hex']); reps.append(r)
out['replies'] = reps
servers = out.pop('servers')
for s in servers:
    s['serve'] = "DECNET_JARM_SERVE=%s go test -count=1 -run '%s' -v %s" % (s['name'], SERVE_TEST, SERVE_PKG)
pyver = subprocess.run(['/usr/bin/python3', '--version'], capture_output=True, text=True).stdout.strip()
ref = {
 'reference': "Salesforce JARM, jarm.py 'Version 1.0 (November 2020)' from github.com/salesforce/jarm at commit 08e22b43eb1596ea18e6e2b6962e2444e3b33c58, unmodified (kept outside the repository), run with /usr/bin/python3 (%s)" % pyver,
 'how': [
  "Start the server: the 'serve' command below (from the module root) prints 'JARM-SERVER <name> 127.0.0.1:PORT <software>' and serves for 60 s on loopback with a fresh certificate (JARM depends on the key type, not the certificate).",
  "Run the reference against it: the 'command' below with PORT replaced; 'jarm' is its 'JARM:' line and 'raw' its 'Scan N:' lines joined by commas.",
  "testdata/jarm_reference.py (see its header for the command) does both for every server and also writes jarm_pyparity.json.gz: jarm.py's packet_building output with os.urandom returning zeros and random.choice taking the first GREASE value ('probes'), its read_packet on every real reply and on truncated and mutated copies ('replies'), and its jarm_hash on raw strings ('hashes').",
  "The openssl servers' values hold for the OpenSSL version in 'software', the Go servers' for the Go release in 'software' (crypto/tls defaults change between releases); the test skips a server whose software differs.",
 ],
 'servers': servers,
}
json.dump(ref, open(sys.argv[2], 'w'), indent=1)
if sys.argv[3] != '-':
    with gzip.open(sys.argv[3], 'wt') as f:
        json.dump(out, f, separators=(',', ':'))

#!/usr/bin/python3
"""Generate random SigV4 test cases signed by botocore.

Usage: /usr/bin/python3 test/sigv4_botocore.py --out DIR --count N [--seed S]

Writes N case folders (DIR/case-0000, ...) in the layout of the aws-c-auth
SigV4 suite (context.json, request.txt, header-canonical-request.txt,
header-string-to-sign.txt, header-signature.txt) for test/sigv4_check.

The expected files are computed by botocore's own signer
(botocore.auth.SigV4Auth on a botocore.awsrequest.AWSRequest with
botocore.credentials.Credentials): its _modify_request_before_signing adds
X-Amz-Date / X-Amz-Security-Token exactly as add_auth would, then its
canonical_request, string_to_sign and signature methods produce the texts.
Nothing here re-implements SigV4.

request.txt holds what test/sigv4_check passes to the C signer:
  - the raw (unencoded) path; the URL handed to botocore contains the same
    raw path, which botocore normalises and URL-quotes once, so "encode the
    raw path once" must reproduce botocore's canonical URI;
  - the query in wire form (percent-encoded, in a random mix of upper/lower
    hex and raw safe characters); botocore gets the decoded parameters as
    AWSRequest.params and encodes them itself;
  - the headers in the order botocore was given them (some folded onto
    continuation lines), a blank line, and the body verbatim.

Restrictions, where botocore 1.29.27 does something that is not plain SigV4
or that request.txt cannot express (the generator avoids the input instead
of bending the signer):
  - No "Date" header: botocore then signs Date instead of X-Amz-Date and
    deletes X-Amz-Date (_set_necessary_date_headers).
  - Of the never-signed headers only Expect, User-Agent and X-Amzn-Trace-Id
    are generated: 1.29.27's SIGNED_HEADERS_BLACKLIST has only those three,
    so it would sign Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade
    and Proxy-*, which the C signer (like newer botocore and the JS SDK)
    never signs.
  - No Authorization, X-Amz-Date, X-Amz-Security-Token or
    X-Amz-Content-SHA256 header from the caller: the C signer owns them
    (botocore would also replace the first three, and would use a given
    X-Amz-Content-SHA256 value as the payload hash).
  - Header values are printable ASCII plus SP/HT: botocore trims with
    str.split(), which also splits on Unicode spaces (U+00A0, U+2000, ...)
    and on U+001C..U+001F; header values are bytes to the C signer, which
    collapses SP/HT only.
  - No '?' or '#' in the path (they would end the path in the URL) and no
    control characters anywhere (request line / header injection).
  - No empty query keys and no raw '+' in the wire query: '+' meaning space
    is form encoding, not SigV4; it is always sent as %2B.
  - The URL query string is never given to botocore: for a query in the URL
    botocore signs the text verbatim (it assumes it is already canonically
    encoded); for AWSRequest.params it encodes, which is the SigV4 rule.
"""

import argparse
import datetime
import json
import os
import random
import sys
from urllib.parse import unquote_to_bytes, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGIONS = [
    'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1',
    'eu-west-2', 'eu-central-1', 'eu-north-1', 'ap-southeast-1',
    'ap-southeast-2', 'ap-northeast-1', 'ap-south-1', 'sa-east-1',
    'ca-central-1', 'af-south-1', 'me-south-1', 'us-gov-west-1',
    'cn-north-1',
]
SERVICES = [
    'profile', 'sts', 'execute-api', 'iam', 'dynamodb', 'lambda', 'sqs',
    'es', 'ec2', 'monitoring', 'logs', 'kms', 'secretsmanager',
]
METHODS = ['GET', 'POST', 'PUT', 'DELETE']

UNRESERVED = ('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
              '0123456789-_.~')
# Path characters that need encoding (besides UTF-8 ones).
PATH_SPECIAL = [' ', '%', '+', '=', '@', ':', '!', '$', '&', "'", '(', ')',
                '*', ',', ';', '"', '<', '>', '[', ']', '{', '}', '|', '^',
                '`', '\\']
UTF8_CHARS = ['\u00e9', '\u1234', '\u00fc', '\u4e2d', '\U0001f600']
# Characters that may appear raw in the wire query (decoded = themselves).
QUERY_RAW_OK = "!$'()*,/:;@?"
QUERY_SPECIAL = [' ', '&', '=', '+', '%', '/', '?', '#', ':', '@', ',', ';',
                 '"', '<', '>', '[', ']', '!', '*', '(', ')', "'", '$']

# Header names the generator must never produce (see the module docstring).
FORBIDDEN_HEADERS = {
    'host', 'date', 'authorization', 'x-amz-date', 'x-amz-security-token',
    'x-amz-content-sha256', 'connection', 'keep-alive', 'proxy-authenticate',
    'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
}
REAL_HEADER_NAMES = [
    'content-type', 'content-length', 'accept', 'accept-encoding',
    'cache-control', 'content-encoding', 'x-amz-target', 'x-amz-meta-owner',
    'x-api-key', 'x-request-id', 'x-amz-user-agent', 'amz-sdk-request',
    'amz-sdk-invocation-id', 'if-match', 'x-custom',
]
UNSIGNED_HEADER_NAMES = ['expect', 'user-agent', 'x-amzn-trace-id']
NAME_EXTRA_CHARS = "_.~!#$&'*+^`|"


def random_case(rng, s):
    """Randomly upper/lower-case every letter of s."""
    return ''.join(c.upper() if rng.random() < 0.5 else c.lower() for c in s)


def random_timestamp(rng):
    """A random UTC second in 2000..2035 as a datetime."""
    start = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    end = datetime.datetime(2036, 1, 1, tzinfo=datetime.timezone.utc)
    span = int((end - start).total_seconds())
    return start + datetime.timedelta(seconds=rng.randrange(span))


def random_credentials(rng):
    """Random (access key, secret, token-or-None)."""
    alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0234567'
    b64 = ('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
           '0123456789+/')
    akid = rng.choice(['AKIA', 'ASIA']) + ''.join(
        rng.choice(alnum) for _ in range(16))
    secret = ''.join(rng.choice(b64) for _ in range(40))
    token = None
    if rng.random() < 0.5:
        token = ''.join(rng.choice(b64)
                        for _ in range(rng.randrange(16, 400))) + '=='
    return akid, secret, token


def random_segment(rng):
    """One path segment: unreserved characters plus some needing encoding."""
    r = rng.random()
    if r < 0.05:
        return ''            # duplicate slash
    if r < 0.10:
        return '.'
    if r < 0.15:
        return '..'
    out = []
    for _ in range(rng.randrange(1, 10)):
        r = rng.random()
        if r < 0.7:
            out.append(rng.choice(UNRESERVED))
        elif r < 0.9:
            out.append(rng.choice(PATH_SPECIAL))
        else:
            out.append(rng.choice(UTF8_CHARS))
    return ''.join(out)


def random_path(rng):
    """A raw path starting with '/'."""
    if rng.random() < 0.05:
        return '/'
    segs = [random_segment(rng) for _ in range(rng.randrange(1, 6))]
    path = '/' + '/'.join(segs)
    if rng.random() < 0.3:
        path += '/'
    return path


def random_query_text(rng, allow_empty):
    """A random query key or value (decoded form)."""
    n = rng.randrange(0 if allow_empty else 1, 10)
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.65:
            out.append(rng.choice(UNRESERVED))
        elif r < 0.9:
            out.append(rng.choice(QUERY_SPECIAL))
        else:
            out.append(rng.choice(UTF8_CHARS))
    return ''.join(out)


def random_params(rng):
    """A list of (key, value) query parameters, possibly empty."""
    params = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 4, 6])):
        if params and rng.random() < 0.2:
            key = rng.choice(params)[0]      # repeated key
        else:
            key = random_query_text(rng, False)
        value = '' if rng.random() < 0.15 else random_query_text(rng, True)
        params.append((key, value))
    return params


def wire_encode(rng, text, raw_ok):
    """Percent-encode text for the wire, mixing raw safe characters and
    upper/lower-case hex escapes.  Decoding gives text back exactly."""
    out = []
    for ch in text:
        raw = ch.encode('utf-8')
        if ch in UNRESERVED:
            keep = rng.random() < 0.9
        elif ch in raw_ok:
            keep = rng.random() < 0.5
        elif len(raw) > 1:
            keep = rng.random() < 0.3          # raw UTF-8 bytes
        else:
            keep = False
        if keep:
            out.append(raw)
        else:
            hexfmt = '%{:02X}' if rng.random() < 0.7 else '%{:02x}'
            out.append(''.join(hexfmt.format(b) for b in raw).encode('ascii'))
    return b''.join(out)


def wire_query(rng, params):
    """The query string (bytes, without '?') as it would be sent."""
    pieces = []
    for key, value in params:
        k = wire_encode(rng, key, QUERY_RAW_OK)
        if value == '' and rng.random() < 0.5:
            pieces.append(k)                   # "key" without '='
        else:
            pieces.append(k + b'=' + wire_encode(rng, value,
                                                 QUERY_RAW_OK + '='))
    query = b'&'.join(pieces)
    # Self-check: the wire form decodes back to exactly the parameters.
    if params:
        decoded = []
        for piece in query.split(b'&'):
            k, _, v = piece.partition(b'=')
            decoded.append((unquote_to_bytes(k), unquote_to_bytes(v)))
        assert decoded == [(k.encode(), v.encode()) for k, v in params]
    return query


def random_header_name(rng, existing):
    """A header name in random case, sometimes repeating an earlier one."""
    if existing and rng.random() < 0.2:
        return random_case(rng, rng.choice(existing))
    r = rng.random()
    if r < 0.4:
        name = rng.choice(REAL_HEADER_NAMES)
    elif r < 0.5:
        name = rng.choice(UNSIGNED_HEADER_NAMES)
    else:
        chars = 'abcdefghijklmnopqrstuvwxyz0123456789-'
        name = 'x-' + ''.join(rng.choice(chars)
                              for _ in range(rng.randrange(1, 12)))
        if rng.random() < 0.2:
            name += rng.choice(NAME_EXTRA_CHARS) + rng.choice('abc')
    assert name.lower() not in FORBIDDEN_HEADERS
    return random_case(rng, name)


def random_ws(rng, min_len):
    """A run of spaces and tabs."""
    return ''.join(rng.choice('    \t')
                   for _ in range(rng.randrange(min_len, min_len + 4)))


def random_header_value(rng):
    """Printable ASCII words with random leading, trailing and inner runs
    of SP/HT."""
    if rng.random() < 0.05:
        return random_ws(rng, 0)
    words = []
    for _ in range(rng.randrange(1, 5)):
        words.append(''.join(chr(rng.randrange(0x21, 0x7F))
                             for _ in range(rng.randrange(1, 12))))
    value = words[0]
    for w in words[1:]:
        value += (random_ws(rng, 1) if rng.random() < 0.5 else ' ') + w
    if rng.random() < 0.4:
        value = random_ws(rng, 1) + value
    if rng.random() < 0.4:
        value = value + random_ws(rng, 1)
    return value


def header_lines(rng, name, value):
    """request.txt lines for one header; a value with an inner SP/HT run
    is sometimes folded onto a continuation line at that run."""
    stripped = value.strip(' \t')
    if stripped and rng.random() < 0.2:
        start = len(value) - len(value.lstrip(' \t'))
        for i in range(start + 1, start + len(stripped)):
            if value[i] in ' \t' and value[i - 1] not in ' \t':
                first = value[:i]
                rest = value[i:]
                return [(name + ':' + first).encode('ascii'),
                        rest.encode('ascii')]
    return [(name + ':' + value).encode('ascii')]


def random_body(rng):
    r = rng.random()
    if r < 0.35:
        return b''
    if r < 0.7:
        doc = {'ProfileIds': ['%032x' % rng.getrandbits(128)
                              for _ in range(rng.randrange(1, 4))],
               'n': rng.randrange(1000), 'note': 'caf\u00e9 \u1234'}
        return json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode()
    return rng.randbytes(rng.randrange(1, 300))


def make_case(rng):
    """Build one random request, sign it with botocore and return the file
    contents of its case folder as a dict name -> bytes."""
    method = rng.choice(METHODS)
    region = rng.choice(REGIONS)
    service = rng.choice(SERVICES)
    when = random_timestamp(rng)
    amz_ts = when.strftime('%Y%m%dT%H%M%SZ')
    akid, secret, token = random_credentials(rng)
    path = random_path(rng)
    params = random_params(rng)
    query = wire_query(rng, params)
    host = '%s.%s.amazonaws.com' % (service, region)
    if rng.random() < 0.2:
        host += ':%d' % rng.choice([8443, 4566, 9000])

    headers = []
    names = []
    for _ in range(rng.randrange(1, 7)):
        name = random_header_name(rng, names)
        names.append(name.lower())
        headers.append((name, random_header_value(rng)))
    headers.insert(rng.randrange(len(headers) + 1),
                   (random_case(rng, 'host'), host))
    body = random_body(rng)

    # botocore's side: the URL carries the raw path, params the decoded
    # query; botocore normalises and encodes both itself.
    url = 'https://' + host + path
    parts = urlsplit(url)
    assert parts.path == path and parts.query == '' and parts.fragment == ''
    request = AWSRequest(method=method, url=url, data=body,
                         params=list(params))
    for name, value in headers:
        request.headers[name] = value          # appends; repeats kept
    request.context['timestamp'] = amz_ts
    auth = SigV4Auth(Credentials(akid, secret, token), service, region)
    auth._modify_request_before_signing(request)
    canonical_request = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical_request)
    signature = auth.signature(string_to_sign, request)

    # request.txt for the C side
    target = path.encode('utf-8')
    if query:
        target += b'?' + query
    lines = [method.encode('ascii') + b' ' + target + b' HTTP/1.1']
    for name, value in headers:
        lines.extend(header_lines(rng, name, value))
    request_txt = b'\n'.join(lines) + b'\n\n' + body

    creds = {'access_key_id': akid, 'secret_access_key': secret}
    if token is not None:
        creds['token'] = token
    context = {
        'credentials': creds,
        'normalize': True,
        'region': region,
        'service': service,
        'sign_body': False,
        'timestamp': when.strftime('%Y-%m-%dT%H:%M:%SZ'),
    }
    return {
        'context.json': (json.dumps(context, indent=4, sort_keys=True)
                         + '\n').encode('utf-8'),
        'request.txt': request_txt,
        'header-canonical-request.txt': canonical_request.encode('utf-8'),
        'header-string-to-sign.txt': string_to_sign.encode('utf-8'),
        'header-signature.txt': signature.encode('ascii'),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True, help='output folder')
    ap.add_argument('--count', type=int, required=True,
                    help='number of cases')
    ap.add_argument('--seed', type=int, default=None,
                    help='random seed (default: random, printed)')
    args = ap.parse_args()

    seed = args.seed
    if seed is None:
        seed = random.SystemRandom().randrange(2 ** 32)
    print('sigv4_botocore: %d cases, seed %d' % (args.count, seed))
    sys.stdout.flush()
    rng = random.Random(seed)

    os.makedirs(args.out, exist_ok=True)
    for i in range(args.count):
        files = make_case(rng)
        case_dir = os.path.join(args.out, 'case-%04d' % i)
        os.makedirs(case_dir, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(case_dir, name), 'wb') as f:
                f.write(data)
    return 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/python3
"""Write the seed corpora of the libFuzzer targets into test/fuzz/corpus/.

    test/fuzz/make_seeds.py [SIGV4_SUITE_DIR]

The seeds are committed; this script documents where they come from and
rewrites them (deterministically) when an input format changes.  With the
aws-c-auth SigV4 suite directory, its requests are added to the signer's
seeds.  Each target's input format is described at the top of its
test/fuzz/fuzz_NAME.c.
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


PATHS = [
    "", "/", "//", "/.", "/..", "/./", "/../..", "a", "a/", "a/..", "./a",
    "/domains/demo-domain/segments/high-value/membership",
    "/prefix/domains/d/segments/s/membership",
    "/a/./b/../c//d/", "//a//b//", "/a/b/../../../c", "/%20/%2F/%zz",
    "/example space/", "/\u00e9v\u00e9n/\u20ac/\U0001F600", "/a+b=c&d",
    "/-._~!$'()*,;:@", "/sts/", "/latest/api/token",
]

QUERIES = [
    "", "a=1&b=2", "b=2&a=1", "a=2&a=1&a=", "&&a&&", "=", "=&=x", "a==b",
    "%41=%2f&%61=%2F", "a=%", "a=%4", "a=%zz", "x=a+b%20c", "%00=%ff",
    "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s&WebIdentityToken=tok",
    "Param1=value1&Param2=value2", "k=\u00e9\u20ac", "~-._=~-._",
]


def sign_seed(flags, ts, method, path, query, region, service, akid, secret,
              token, headers, body):
    # 40-bit timestamp offset by 2^39 (see fuzz_sigv4_sign.c)
    t = (ts + (1 << 39)) & ((1 << 40) - 1)
    out = bytes([flags]) + t.to_bytes(5, "big")
    lines = [method, path, query, region, service, akid, secret, token]
    lines += ["%s:%s" % h for h in headers]
    out += "\n".join(lines).encode() + b"\n\n" + body
    return out


def sign_seeds(suite):
    ak, sk = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    ts = 1440938160  # 2015-08-30T12:36:00Z, the suite's date
    body = b'{"ProfileIds":["0123456789abcdef0123456789abcdef"]}'
    # high bits: the (N-1)-th allocation of the signer fails
    for flags in (0, 1, 3, 8, 9, 15) + tuple((n << 4) | 9 for n in range(1, 16)):
        write("sigv4_sign", sign_seed(
            flags, 1764547200, "POST",
            "/domains/demo-domain/segments/high-value/membership", "",
            "eu-west-2", "profile", "AKIDSEGMENTMEMBERSHIP1",
            "smTestSecretKey/0123456789abcdefghijklmnopqrstu",
            "smTestSessionToken0123456789" if flags & 1 else "",
            [("Host", "profile.eu-west-2.amazonaws.com"),
             ("Content-Type", "application/json")], body))
    write("sigv4_sign", sign_seed(
        8, 1764547200, "POST", "/", "", "us-east-1", "sts", ak, sk, "",
        [("Host", "sts.amazonaws.com"),
         ("Content-Type", "application/x-www-form-urlencoded")],
        QUERIES[14].encode()))
    write("sigv4_sign", sign_seed(
        0, ts, "GET", "/a/./b/../c//d", "b=2&a=1&a=%20", "us-east-1",
        "service", ak, sk, "tok", [("Host", "example.amazonaws.com"),
                                   ("X-Custom", "  a   b  "),
                                   ("connection", "close"),
                                   ("x-custom", "second")], b""))
    write("sigv4_sign", sign_seed(
        1, -62167219200, "GET", "/", "", "r", "s", ak, sk, "",
        [("host", "h")], b""))
    write("sigv4_sign", sign_seed(
        1, 253402300799, "GET", "/", "", "r" * 40, "s" * 70, ak, sk, "",
        [("host", "h")], b""))
    if suite and os.path.isdir(suite):
        for case in sorted(os.listdir(suite)):
            req = os.path.join(suite, case, "request.txt")
            if not os.path.isfile(req):
                continue
            raw = open(req, "rb").read().decode("utf-8", "replace")
            head, _, body = raw.partition("\n\n")
            lines = head.split("\n")
            method, target = lines[0].split(" ")[0], lines[0].split(" ")[1]
            path, _, query = target.partition("?")
            headers = []
            for ln in lines[1:]:
                if ":" in ln and not ln.startswith((" ", "\t")):
                    n, _, v = ln.partition(":")
                    headers.append((n, v))
            headers = [h for h in headers if h[0].lower() != "x-amz-date"]
            write("sigv4_sign", sign_seed(
                0 if "unnormalized" in case else 1, ts, method, path, query,
                "us-east-1", "service", ak, sk, "", headers, body.encode()))


def main():
    suite = sys.argv[1] if len(sys.argv) > 1 else None
    for flags in range(4):
        for p in PATHS:
            write("sigv4_uri", bytes([flags, 7 + 5 * flags]) + p.encode())
    for q in QUERIES:
        write("sigv4_query", q.encode())
    sign_seeds(suite)
    now = b"\0\0\0\0"
    for cls in range(4):
        for xamz, ra in [("", ""), ("250", ""), ("3600000", ""),
                         ("3600001", "5"), ("+5", ""), (" 7", ""),
                         ("", "120"), ("", "3601"), ("", "1e3"),
                         ("", "Mon, 01 Dec 2025 00:00:30 GMT"),
                         ("", "Sun, 30 Nov 2025 23:59:00 GMT"),
                         ("", "Tue, 02 Dec 2025 00:00:00 GMT"),
                         ("", "Monday, 01-Dec-25 00:00:30 GMT"),
                         ("", "Mon Dec  1 00:00:30 2025"),
                         ("x", "Fri, 31 Dec 9999 23:59:59 GMT")]:
            write("retry_hint", now + bytes([cls, 3, 0x80, 0, 0, 200]) +
                  ("%s\n%s" % (xamz, ra)).encode())
    for code in ["ThrottlingException", "InternalServerException",
                 "aws.protocols#ThrottlingException:http://internal.amazon.com/",
                 "com.amazonaws.profile#BadRequestException",
                 "ResourceNotFoundException,extra", " Slow Down ",
                 "#", ":", ",", "a#b#c", "\u00e9\u20ac\x01x", ""]:
        for outlen, status in [(64, 400), (1, 429), (0, 503), (8, 500)]:
            write("retry_code", bytes([outlen]) + struct.pack(">H", status) +
                  code.encode())

    # credential-chain parsers (parse_util.c)
    for t in ["2026-11-28T17:53:12Z", "2026-11-28T17:53:12.123Z",
              "2030-06-15T10:20:30+05:30", "2030-06-15T10:20:30-18:00",
              "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
              "2026-02-31T00:00:00Z", "2026-12--1T00:00:00Z",
              "2026-01-01T-1:00:00Z", "2026-01-01T00:00:00+1:0",
              "2026-01-01T00:00:00+99:99", "2026-1-1T00:00:00Z",
              "2026-01-01T00:00:00", "2026-01-01T00:00:00Z\x00junk",
              "1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
              "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z"]:
        write("iso8601", t.encode())
    ini = ("# comment\n[default]\naws_access_key_id = AKID\n"
           "AWS_Secret_Access_Key=secret \n; c\n[profile second]\n"
           "region=eu-west-2\nservices = svc\n[services svc]\n"
           "customer_profiles =\n  endpoint_url = http://127.0.0.1:1\n"
           "[broken\n  [indented]\nnoequals\n[ default ]\n"
           "[profile\tx]\n= value\nkey =\n")
    for mode in range(4):
        for want in ["default", "second", "services svc", "x", ""]:
            write("ini_line", bytes([mode]) + want.encode() + b"\n" +
                  ini.encode())
    sts = ("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/"
           "2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>ASIA"
           "</AccessKeyId><SecretAccessKey>s&amp;e&lt;c&gt;r&quot;e&apos;t"
           "</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>"
           "2026-11-28T17:53:12Z</Expiration></Credentials>"
           "</AssumeRoleResult></AssumeRoleResponse>")
    err = ("<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken"
           "</Code><Message>a &amp;b &unknown; &amp</Message></Error>"
           "</ErrorResponse>")
    for tag in ["AccessKeyId", "SecretAccessKey", "SessionToken",
                "Expiration", "Code", "Message", "Credentials", "x"]:
        for doc in [sts, err, "<" + tag + ">", "<" + tag + "></" + tag]:
            write("sts_xml", tag.encode() + b"\0v&<>\"'\0" + doc.encode())
    redact_seeds()
    for u in ["https://profile.eu-west-2.amazonaws.com",
              "http://127.0.0.1:8080", "http://127.0.0.1:8080/",
              "HTTP://LOCALHOST:80/prefix//", "https://[::1]:443/a/b",
              "http://[0:0:0:0:0:0:0:1]", "http://[::ffff:127.0.0.1]:1",
              "http://127.attacker.invalid/", "http://0127.0.0.1",
              "http://127.0.0.256", "http://user:pw@host/", "http://host/@x",
              "http://h:0", "http://h:65535", "http://h:65536", "http://h:00080",
              "http://h:", "http://h:+1", "http://h?x=1", "http://h/p?q#f",
              "https://h/p q", "https://h/a=b,c;d+e:f@g!h$i*j~k",
              "https://", "https:///x", "http://[", "http://[]", "http://[::1",
              "ftp://h", "https:/h", "", "https://h\xc3\xa9/",
              "http://169.254.170.2/v2/credentials/x",
              "http://[fd00:ec2::23]/latest/api/token"]:
        write("endpoint_url", u.encode())


def redact_seeds():
    """fuzz_redact: flags (secrets, keep_utf8), sanitizer size, secrets
    each up to a NUL, then the text."""
    token = "FQoGZXIvYXdzEJr//////////wEaDM+token/with+slash=="
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    canonical = ("POST\n/domains/d/segments/s/membership\n\n"
                 "content-type:application/json\nhost:profile.us-east-1.amazonaws.com\n"
                 "x-amz-date:20251201T000000Z\nx-amz-security-token:%s\n\n"
                 "content-type;host;x-amz-date;x-amz-security-token\nabc" % token)
    texts = [
        "The request signature we calculated does not match the signature you "
        "provided.\n\nThe Canonical String for this request should have been\n'%s'"
        "\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'\n" % canonical,
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251201/us-east-1/"
        "profile/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef0123",
        "Action=AssumeRole&X-Amz-Security-Token=%s&WebIdentityToken=eyJhbGciOi.x.y" % token,
        "The security token included in the request is invalid: %s" % token,
        "token %s percent %s" % (secret, secret.replace("/", "%2F")),
        "\u00e9v\u00e9n \u20ac\U0001F600 \x1b[31mred\x07 \x7f \u0085 tab\there",
        "x-amz-security-token:   \nauthorization:\r\nsignature=&credential=,",
        "",
    ]
    for i, t in enumerate(texts):
        for nsec, secs in [(0, []), (2, [token, secret]), (3, [token, secret, "short"])]:
            flags = nsec | ((i & 1) << 2)
            data = bytes([flags, 7 + 13 * i]) + b"".join(
                x.encode() + b"\0" for x in secs) + t.encode("utf-8", "surrogatepass")
            write("redact", data)
    write("redact", bytes([0x05, 64]) + b"\xff\xfe\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80")


if __name__ == "__main__":
    main()

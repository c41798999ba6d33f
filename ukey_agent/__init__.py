"""The UKey agent (联连客户端): a small local program that signs the hall's login challenges with the
employer's USB key through PKCS#11, serving 127.0.0.1 only and answering only the hall's origin."""

# Signed before every login challenge, so a signature made for a login is good for nothing else.
LOGIN_PREFIX = b"employer-hall-login\x00"

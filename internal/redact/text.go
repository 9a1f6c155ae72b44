package redact

import "regexp"

// The patterns Text rewrites. Go's net package and the cloud SDKs write these
// shapes; an error that was flattened to a string on its way up still has them.
var (
	// A URL anywhere in the text, up to a space, a quote or an angle bracket.
	urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)
	// An IP address with or without a port: 10.0.0.2:53, [fd00::1]:53, ::1.
	ipAddr = `(?:\[[0-9A-Fa-f:.%]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)(?::[0-9]+)?`
	// "lookup example.com on 10.0.0.2:53: no such host": the resolver.
	resolver = regexp.MustCompile(`(lookup \S+) on ` + ipAddr + `:`)
	// "dial tcp 10.1.2.3:443: connect: …", "read tcp 10.0.0.5:51234->10.1.2.3:443: …":
	// the addresses a connection came from and went to.
	connAddrs = regexp.MustCompile(`(dial|read|write|accept|close) ((?:tcp|udp|ip)[46]?) (?:` + ipAddr + `->)?` + ipAddr + `:`)
	// The instance metadata services (AWS IMDS and ECS/EKS credentials, Azure,
	// Google Cloud) that credential chains probe: their URLs, then their
	// addresses alone.
	metadataURL  = regexp.MustCompile(`https?://(?:169\.254\.[0-9]{1,3}\.[0-9]{1,3}|\[fd00:ec2::[0-9a-fA-F]+\]|metadata\.google\.internal)(?::[0-9]+)?[^\s"'<>]*`)
	metadataAddr = regexp.MustCompile(`169\.254\.[0-9]{1,3}\.[0-9]{1,3}(?::[0-9]+)?|fd00:ec2::[0-9a-fA-F]+|metadata\.google\.internal`)
	// "x509: certificate is valid for internal.corp, 10.1.2.3, not example.com":
	// the names another host's certificate holds.
	certNames = regexp.MustCompile(`certificate is valid for [^"\n]*?, not (\S+)`)
)

// addresses leaves out the resolver's address and a connection's addresses.
func addresses(s string) string {
	s = resolver.ReplaceAllString(s, "$1:")
	return connAddrs.ReplaceAllString(s, "$1 $2:")
}

// metadataService names what metadataURL and metadataAddr replace.
const metadataService = "the instance metadata service"

// Text returns an error message fit for a job record or an API answer: every
// URL in it goes through [URL], and the internal network details that Go's
// and the cloud SDKs' errors carry are left out, while the failure itself
// stays named:
//
//   - the resolver's address: "lookup h on 10.0.0.2:53: no such host" reads
//     "lookup h: no such host";
//   - the addresses a connection was made from and to, which for an allowed
//     internal host are its private IPs: "dial tcp 10.1.2.3:443: connect:
//     connection refused" reads "dial tcp: connect: connection refused";
//   - the instance metadata service that credential chains probe
//     (169.254.169.254 and the rest of 169.254.0.0/16, fd00:ec2::,
//     metadata.google.internal), its URLs and its address;
//   - the names a certificate was valid for, when it was not for the host.
//
// Logs keep the error as it was, for the operator. Text is idempotent.
func Text(s string) string {
	if s == "" {
		return s
	}
	s = metadataURL.ReplaceAllString(s, metadataService)
	// Addresses go before URLs too: a URL running into "lookup h on …" would
	// take the words that mark the resolver's address with it.
	s = addresses(s)
	s = urlInText.ReplaceAllStringFunc(s, URL)
	s = addresses(s)
	s = metadataAddr.ReplaceAllString(s, metadataService)
	return certNames.ReplaceAllString(s, "certificate is not valid for $1")
}

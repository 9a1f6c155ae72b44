package rclone

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The proxy and its CA are made once per test binary: Go reads SSL_CERT_FILE once
// per process, so a second CA would not be trusted. Each test points the proxy at its
// own emulator.
var (
	mitmOnce    sync.Once
	mitmURL     string
	mitmCA      string
	mitmErr     error
	mitmTarget  atomic.Pointer[url.URL]
	mitmForward = &http.Transport{
		// As many idle connections to the emulator as rclone keeps to ImageKit, so
		// that the proxy does not dial anew for most requests of a benchmark.
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     time.Minute,
	}
)

// startMITM runs a CONNECT proxy on loopback that terminates TLS for
// api.imagekit.io and upload.imagekit.io with a certificate from a throwaway CA and
// sends each request, same path, to target. It returns the proxy's URL and a PEM
// file holding the CA.
func startMITM(tb testing.TB, target string) (proxyURL, caFile string) {
	tb.Helper()
	to, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	mitmTarget.Store(to)
	mitmOnce.Do(func() { mitmURL, mitmCA, mitmErr = listenMITM() })
	if mitmErr != nil {
		tb.Fatal(mitmErr)
	}
	return mitmURL, mitmCA
}

// listenMITM starts the proxy, which lives as long as the test binary.
func listenMITM() (proxyURL, caFile string, err error) {
	tlsCfg, caPEM, err := throwawayTLS("api.imagekit.io", "upload.imagekit.io")
	if err != nil {
		return "", "", err
	}
	dir, err := os.MkdirTemp("", "ikq-rclone-ca-")
	if err != nil {
		return "", "", err
	}
	caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		return "", "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go tunnel(c, tlsCfg)
		}
	}()
	return "http://" + ln.Addr().String(), caFile, nil
}

// tunnel answers one CONNECT, then relays the HTTPS requests inside it.
func tunnel(c net.Conn, tlsCfg *tls.Config) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil || req.Method != http.MethodConnect {
		return
	}
	if _, err := c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	tc := tls.Server(c, tlsCfg)
	br := bufio.NewReader(tc)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		to := mitmTarget.Load()
		req.URL.Scheme, req.URL.Host, req.RequestURI = to.Scheme, to.Host, ""
		resp, err := mitmForward.RoundTrip(req)
		if err != nil {
			return
		}
		err = resp.Write(tc)
		resp.Body.Close()
		if err != nil {
			return
		}
	}
}

// throwawayTLS returns a server config with a certificate for hosts, signed by a
// new CA, and that CA in PEM.
func throwawayTLS(hosts ...string) (*tls.Config, []byte, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ikq rclone test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return cfg, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

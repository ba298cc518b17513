package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/agent"
)

// The agent speaks HTTPS to a server with a certificate of its own CA
// (ca_file), and refuses one it cannot verify.
func TestAgentOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, caFile := selfSigned(t, dir)
	ts := startServer(t, t.TempDir(), "", "VIGIE_HTTP_TLS_CERT="+certFile, "VIGIE_HTTP_TLS_KEY="+keyFile)
	base := strings.Replace(ts.base, "http://", "https://", 1)

	// The test's own calls trust the same CA.
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("POST", base+"/api/v1/agent-tokens", strings.NewReader(`{"name":"tls"}`))
	req.SetBasicAuth("admin", adminPassword)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := between(string(body), `"token":"`, `"`)
	if resp.StatusCode != 201 || token == "" {
		t.Fatalf("token over HTTPS: %d %s", resp.StatusCode, body)
	}

	run := func(cfg agent.Config) (*agent.Agent, func()) {
		cfg.Defaults()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(cfg, agent.NewMemoryBuffer(cfg.Buffer.MaxBytes), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { a.Run(ctx); close(done) }()
		return a, func() { cancel(); <-done }
	}
	hostUp := func(name string) bool {
		req, _ := http.NewRequest("GET", base+"/api/v1/hosts/"+name, nil)
		req.SetBasicAuth("admin", adminPassword)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && strings.Contains(string(b), `"state":"UP"`)
	}

	// Without the CA the agent cannot verify the server: nothing enrols.
	_, stop := run(agent.Config{Server: base, Token: token, Host: "tls-untrusted", Interval: agent.Duration(time.Second)})
	time.Sleep(3 * time.Second)
	stop()
	if hostUp("tls-untrusted") {
		t.Fatal("an agent enrolled over a certificate it could not verify")
	}
	_, stop = run(agent.Config{Server: base, Token: token, Host: "tls-agent", Interval: agent.Duration(time.Second), CAFile: caFile})
	defer stop()
	waitFor(t, "the agent host UP over HTTPS", func() bool { return hostUp("tls-agent") })
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// selfSigned writes a CA and a certificate for 127.0.0.1 it signed.
func selfSigned(t *testing.T, dir string) (cert, key, caFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigie test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("cert.pem", "CERTIFICATE", srvDER), write("key.pem", "EC PRIVATE KEY", keyDER), write("ca.pem", "CERTIFICATE", caDER)
}

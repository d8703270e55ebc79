//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ControlPlane is etcd and kube-apiserver on 127.0.0.1 (free ports), with a
// PKI made by openssl for the run: Node and RBAC authorization, the
// NodeRestriction admission plugin, and a service-account issuer and
// signing key so that TokenRequest works. No scheduler and no
// controller-manager: pods are created with spec.nodeName, and whatever a
// controller would create (the default ServiceAccount) is created by hand.
type ControlPlane struct {
	ws  *Workspace
	dir string
	// URL is https://127.0.0.1:PORT.
	URL string
	// AdminKubeconfig is a kubeconfig for a system:masters user; KubeletKubeconfig
	// one for system:node:<NodeName> in system:nodes.
	AdminKubeconfig   string
	KubeletKubeconfig string
	CAFile            string

	etcd, apiserver *Process
}

// ControlPlaneOptions are the inputs of StartControlPlane.
type ControlPlaneOptions struct {
	EtcdBin, APIServerBin string
	NodeName              string
}

// StartControlPlane makes the PKI, starts etcd and kube-apiserver, and waits
// until the API server is ready.
func StartControlPlane(ws *Workspace, opts ControlPlaneOptions) (*ControlPlane, error) {
	dir, err := ws.MkdirAll("controlplane")
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{ws: ws, dir: dir, CAFile: filepath.Join(dir, "pki", "ca.crt")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cp.makePKI(ctx, opts.NodeName); err != nil {
		return nil, fmt.Errorf("making the control plane's PKI: %w", err)
	}
	ports := map[string]int{}
	for _, n := range []string{"etcd-client", "etcd-peer", "apiserver"} {
		if ports[n], err = FreePort(); err != nil {
			return nil, err
		}
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports["etcd-client"])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports["etcd-peer"])
	cp.etcd, err = ws.Start("etcd", dir, nil, opts.EtcdBin,
		"--name=ncp-e2e",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=ncp-e2e="+peerURL,
		"--log-level=warn",
		// No fsync on this throwaway data: the tests do not survive a crash anyway.
		"--unsafe-no-fsync",
	)
	if err != nil {
		return nil, err
	}
	if err := WaitFor(30*time.Second, 100*time.Millisecond, func() (bool, error) {
		if done, perr := cp.etcd.Exited(); done {
			return false, Permanent(fmt.Errorf("etcd exited: %v: %s", perr, TailFile(cp.etcd.LogPath, 1500)))
		}
		resp, err := http.Get(etcdURL + "/health")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}); err != nil {
		return nil, fmt.Errorf("waiting for etcd: %w", err)
	}

	pki := func(name string) string { return filepath.Join(dir, "pki", name) }
	cp.URL = fmt.Sprintf("https://127.0.0.1:%d", ports["apiserver"])
	cp.apiserver, err = ws.Start("kube-apiserver", dir, nil, opts.APIServerBin,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", ports["apiserver"]),
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file="+pki("apiserver.crt"),
		"--tls-private-key-file="+pki("apiserver.key"),
		"--client-ca-file="+pki("ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki("sa.pub"),
		"--service-account-signing-key-file="+pki("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/24",
		// The kubernetes Service's endpoints would name 127.0.0.1: keep the
		// reconciler out of it (no pod here talks to the API server).
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=1",
	)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(cp.CAFile)
	if err != nil {
		return nil, err
	}
	admin, err := tls.LoadX509KeyPair(pki("admin.crt"), pki("admin.key"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{admin}},
	}}
	// /readyz is ready once the post-start hooks ran (RBAC's bootstrap
	// roles among them): before, a node's request may be refused.
	if err := WaitFor(90*time.Second, 200*time.Millisecond, func() (bool, error) {
		if done, perr := cp.apiserver.Exited(); done {
			return false, Permanent(fmt.Errorf("kube-apiserver exited: %v: %s", perr, TailFile(cp.apiserver.LogPath, 3000)))
		}
		resp, err := client.Get(cp.URL + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("/readyz: %s", resp.Status)
		}
		return true, nil
	}); err != nil {
		return nil, fmt.Errorf("waiting for kube-apiserver: %w", err)
	}
	cp.AdminKubeconfig = filepath.Join(dir, "admin.kubeconfig")
	cp.KubeletKubeconfig = filepath.Join(dir, "kubelet.kubeconfig")
	if err := writeKubeconfig(cp.AdminKubeconfig, cp.URL, pki("ca.crt"), pki("admin.crt"), pki("admin.key")); err != nil {
		return nil, err
	}
	if err := writeKubeconfig(cp.KubeletKubeconfig, cp.URL, pki("ca.crt"), pki("kubelet.crt"), pki("kubelet.key")); err != nil {
		return nil, err
	}
	return cp, nil
}

// makePKI makes a CA, the API server's serving certificate, client
// certificates for an admin and for the kubelet, and the service-account
// signing key pair.
func (cp *ControlPlane) makePKI(ctx context.Context, nodeName string) error {
	dir := filepath.Join(cp.dir, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	serverExt := "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n" +
		"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
	clientExt := "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
	for name, ext := range map[string]string{"server.ext": serverExt, "client.ext": clientExt} {
		if err := os.WriteFile(p(name), []byte(ext), 0o644); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ncp-e2e-kubernetes-ca",
			"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
			"-keyout", p("ca.key"), "-out", p("ca.crt")},
		{"openssl", "genrsa", "-out", p("sa.key"), "2048"},
		{"openssl", "rsa", "-in", p("sa.key"), "-pubout", "-out", p("sa.pub")},
	}
	certs := []struct{ name, subj, ext string }{
		{"apiserver", "/CN=kube-apiserver", "server.ext"},
		{"admin", "/O=system:masters/CN=ncp-e2e-admin", "client.ext"},
		{"kubelet", "/O=system:nodes/CN=system:node:" + nodeName, "client.ext"},
	}
	for _, c := range certs {
		steps = append(steps,
			[]string{"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", c.subj, "-keyout", p(c.name + ".key"), "-out", p(c.name + ".csr")},
			[]string{"openssl", "x509", "-req", "-in", p(c.name + ".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"), "-CAcreateserial",
				"-days", "2", "-extfile", p(c.ext), "-out", p(c.name + ".crt")})
	}
	for _, s := range steps {
		if _, err := cp.ws.Run(ctx, nil, s...); err != nil {
			return err
		}
	}
	return nil
}

func writeKubeconfig(path, server, ca, cert, key string) error {
	// JSON is YAML: no YAML library needed.
	cfg := fmt.Sprintf(`{
  "apiVersion": "v1", "kind": "Config",
  "clusters": [{"name": "ncp-e2e", "cluster": {"server": %q, "certificate-authority": %q}}],
  "users": [{"name": "ncp-e2e", "user": {"client-certificate": %q, "client-key": %q}}],
  "contexts": [{"name": "ncp-e2e", "context": {"cluster": "ncp-e2e", "user": "ncp-e2e"}}],
  "current-context": "ncp-e2e"
}
`, server, ca, cert, key)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// KubectlBin is the kubectl the suite uses (a client one or two minor
// versions older than the API server is fine for what it does here).
var KubectlBin = func() string {
	if p := os.Getenv("NCP_E2E_KUBECTL"); p != "" {
		return p
	}
	return "kubectl"
}()

// cniConfig marks the runtime's network ready: containerd reports it ready
// once it has loaded a CNI config, and the kubelet reports the node Ready
// only then. The plugin it names does not exist: every pod here is
// hostNetwork, so containerd never runs CNI.
const cniConfig = `{"cniVersion": "1.0.0", "name": "ncp-e2e-hostnetwork-only", "plugins": [{"type": "ncp-e2e-no-such-plugin"}]}`

// WriteCNIConfig puts cniConfig into containerd's CNI config folder.
func (c *Containerd) WriteCNIConfig() error {
	return WriteFileAtomic(filepath.Join(c.Dir, "cni-conf", "10-ncp-e2e.conflist"), []byte(cniConfig), 0o644)
}

// oneLine shortens command output for messages.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

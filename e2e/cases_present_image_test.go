//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// Since Kubernetes 1.35 the kubelet verifies, for an image already on the
// node, that a new pod may use the credential it was pulled with
// (KubeletEnsureSecretPulledImages, on by default, policy
// NeverVerifyPreloadedImages). This case checks that our service-account
// scoping holds for such images: the kubelet records that the image came
// with the credential our plugin gave pod A's service account, and a pod
// whose service account we deny must pull again, with nothing from us.
func init() {
	APICases = append(APICases, APICase{"present-image-scoping-holds", casePresentImageScoping})
}

// ifNotPresentPod is a pod of ns and sa with imagePullPolicy IfNotPresent.
func ifNotPresentPod(t *testing.T, c APICluster, name, ns, sa, image string) Pod {
	t.Helper()
	return c.RunPod(t, PodSpec{Name: name, Namespace: ns, ServiceAccountName: sa, Image: image, PullPolicy: "IfNotPresent"})
}

func casePresentImageScoping(t *testing.T, c APICluster) {
	_, stderr := scopingSetup(t, c)
	image := c.Registry().FreshImage(t, "present-image")

	// A: allowed; the image is not on the node yet, so it is pulled with
	// our credential.
	a := ifNotPresentPod(t, c, "present-a", "team-a", "puller", image)
	c.WaitPodRunning(t, a, runTimeout)

	// B: a service account our rules deny, the same image, IfNotPresent.
	// The image is on the node, but the kubelet must not let B use it: it
	// was pulled with a credential B's service account was not given, so
	// the kubelet pulls again with B's credentials, which are none.
	b := ifNotPresentPod(t, c, "present-b", "team-b", "puller", image)
	requireUnauthorized(t, c.WaitPullFailed(t, b, failTimeout))
	requirePluginRefused(t, c, image, `service account "team-b/puller" is not in allow.serviceAccounts`)
	if ev := c.PodEvents(t, b); !strings.Contains(ev, "Failed") || strings.Contains(ev, "already present on machine") {
		t.Errorf("pod B's events should show the failed pull, not the present image:\n%s", ev)
	}

	// B2: the allowed namespace, but a service account without the
	// annotation our rules require: also denied.
	b2 := ifNotPresentPod(t, c, "present-b2", "team-a", "no-annotation", image)
	requireUnauthorized(t, c.WaitPullFailed(t, b2, failTimeout))
	requirePluginRefused(t, c, image, `carries no annotation "`+scopingAnnotation)

	// C: allowed, the same service account as A: runs from the image on the
	// node, without pulling it again.
	cPod := ifNotPresentPod(t, c, "present-c", "team-a", "puller", image)
	c.WaitPodRunning(t, cPod, runTimeout)
	if ev := c.PodEvents(t, cPod); !strings.Contains(ev, "already present on machine") {
		t.Errorf("pod C was not started from the present image; events:\n%s", ev)
	}
	requireNoToken(t, string(c.ReadFile(t, stderr)))
}

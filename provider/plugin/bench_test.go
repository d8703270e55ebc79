package plugin

import (
	"strings"
	"testing"
)

const benchRequest = `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"localhost:5443/lab/busybox"}` + "\n"

func BenchmarkReadRequest(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ReadRequest(strings.NewReader(benchRequest)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := EncodeResponse(APIVersions[0], &sampleAnswer); err != nil {
			b.Fatal(err)
		}
	}
}

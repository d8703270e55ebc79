package match

import "testing"

func BenchmarkMatches(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Matches("*.example.com/team", "registry.example.com/team/app")
	}
}

func BenchmarkNormalizeImage(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := NormalizeImage("registry.example.com:5443/team/app:v1.2.3"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeKey(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := NormalizeKey("https://index.docker.io/v1/"); err != nil {
			b.Fatal(err)
		}
	}
}

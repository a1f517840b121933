package inventory

import "testing"

// BenchmarkAllowsClient is the declared-client check detection makes for
// every event of an agent that declares clients: a few user agents, each
// repeated, as one agent's calls are.
func BenchmarkAllowsClient(b *testing.B) {
	p := &Playground{Clients: []string{"boto3", "aws-cli"}}
	p.c = p.compile() // as the inventory loads it
	uas := []string{
		"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.215-203.850.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
		"aws-cli/2.15.30 Python/3.11.8 Linux/5.10.215-203.850.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/s3.cp",
		"aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.6",
		"ecs.amazonaws.com",
	}
	ips := []string{"10.20.4.17", "10.20.4.17", "10.20.4.17", ""}
	allowed := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if p.AllowsClient(uas[i%len(uas)], ips[i%len(ips)]) {
			allowed++
		}
	}
	if allowed == 0 {
		b.Fatal("no call allowed")
	}
}

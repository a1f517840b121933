// Package awsiam is agentwatch's knowledge of AWS authorisation: ARNs and
// how IAM matches them, the resource types of the services agentwatch names
// resources for (after the AWS Service Authorization Reference), the
// service prefixes IAM knows, and the CloudTrail event names whose IAM
// action is spelt differently. Ingest uses it to name every AWS event's
// resource as the ARN IAM evaluates; the inventory uses it to match and
// check declared playgrounds written the way IAM policies are.
package awsiam

import "strings"

// ARN is an Amazon Resource Name split into its six colon-separated parts.
// Resource keeps any further colons ("function:name:alias").
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// Parse splits s into an ARN. It reports false when s does not start with
// "arn:" or has fewer than six parts.
func Parse(s string) (ARN, bool) {
	if !strings.HasPrefix(s, "arn:") {
		return ARN{}, false
	}
	var parts [5]string
	rest := s[4:]
	for i := 0; i < 4; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return ARN{}, false
		}
		parts[i] = rest[:j]
		rest = rest[j+1:]
	}
	return ARN{Partition: parts[0], Service: parts[1], Region: parts[2], Account: parts[3], Resource: rest}, true
}

// String joins the parts back into "arn:partition:service:region:account:resource".
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// PartitionOf returns the partition of a region ("cn-north-1" is in
// aws-cn); "aws" when the region says nothing else.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "aws-iso-e"
	case strings.HasPrefix(region, "us-isof-"):
		return "aws-iso-f"
	}
	return "aws"
}

// Partitions are the AWS partitions an ARN may name.
var Partitions = []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}

package awsfleet

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// The object key spaces the agents read: thousands of distinct keys under
// a few prefixes, as real buckets hold.

var kbCategories = []string{"billing", "accounts", "shipping", "returns", "integrations", "api", "security", "mobile", "onboarding", "troubleshooting"}

var slugWords = []string{"how", "to", "reset", "update", "cancel", "refund", "export", "invoice", "password", "order", "shipping",
	"address", "sso", "webhook", "limit", "error", "sync", "mobile", "payment", "plan", "trial", "team", "seat", "api", "token",
	"report", "delivery", "tracking", "account", "email", "billing", "change", "add", "remove", "connect", "slack", "crm", "import"}

const kbArticles = 4200

var (
	kbOnce sync.Once
	kbKeys []string
)

// kbKey is the key of knowledge-base article i (0..kbArticles-1), filed
// under its category: articles/<category>/<slug>-<id>.md.
func kbKey(i int) string {
	kbOnce.Do(func() {
		kbKeys = make([]string, kbArticles)
		for j := range kbKeys {
			r := rngFor(0, "kb", itoa(int64(j)))
			var w []string
			for range 3 + r.IntN(3) {
				w = append(w, slugWords[r.IntN(len(slugWords))])
			}
			kbKeys[j] = fmt.Sprintf("articles/%s/%s-%d.md", kbCategories[r.IntN(len(kbCategories))], strings.Join(w, "-"), 360000+j*7)
		}
	})
	return kbKeys[i]
}

// docSpace is one Confluence space of the documentation export.
type docSpace struct {
	key   string
	pages int
}

var docSpaces = []docSpace{{"ENG", 1800}, {"PLAT", 1200}, {"SUP", 900}, {"SALES", 600}, {"HR", 400}, {"FIN", 300}, {"SEC", 250}, {"LEGAL", 150}}

// docKey is page n of a space: confluence/<SPACE>/<page id>.html.
func docKey(space string, n int) string {
	return fmt.Sprintf("confluence/%s/%d.html", space, 1_000_000+int(hash64("page", space)%900_000)+n*13)
}

// lakeTables are the lake's tables with the parts written per day.
var lakeTables = []struct {
	name  string
	parts int
}{{"events", 48}, {"orders", 12}, {"sessions", 24}, {"tickets", 6}, {"invoices", 4}}

// lakeFile is one data file of a lake table's daily partition, named as
// Spark writes them (one write id per partition).
func lakeFile(table string, d time.Time, part int) [2]string {
	date := d.Format(time.DateOnly)
	return [2]string{"acme-analytics-lake", fmt.Sprintf("raw/%s/dt=%s/part-%05d-%s.c000.snappy.parquet", table, date, part, stableUUID("lake", table, date))}
}

// curFile is one file of the Cost and Usage Report for a billing period.
func curFile(period string, n int) [2]string {
	return [2]string{"acme-cur-reports", fmt.Sprintf("cur/acme-cur/data/BILLING_PERIOD=%s/acme-cur-%05d.snappy.parquet", period, n+1)}
}

// services are the company's own services: ECR repositories, most of
// them deployed as Lambda functions.
var services = []struct {
	name   string
	lambda bool
}{{"api-orders", true}, {"api-payments", true}, {"web-frontend", false}, {"notifier", true}, {"search-indexer", true}, {"auth-service", false}}

// buckets the account holds (for people and AWS Config).
var accountBuckets = []string{"acme-support-kb", "acme-support-attachments", "acme-build-artifacts", "acme-analytics-lake", "acme-athena-results",
	"acme-cur-reports", "acme-finops-reports", "acme-docs", "acme-docs-index", "acme-review-cache", "acme-invoices-eu", TrailBucket, "acme-terraform-state"}

// accountRoles are the account's IAM roles people and services look at.
var accountRoles = []string{"agent-support-assistant", "agent-ci-deployer", "agent-data-analyst", "agent-finops-reporter", "agent-ops-remediator",
	"agent-security-triage", "agent-doc-indexer", "agent-invoice-processor", "agent-code-review-bot", PlatformNodeRole,
	"svc-api-orders", "svc-api-payments", "svc-notifier", "svc-search-indexer", "terraform-ci"}

var repos = []string{"api-orders", "api-payments", "web-frontend", "notifier", "search-indexer", "auth-service", "mobile-app", "data-pipelines", "infra"}

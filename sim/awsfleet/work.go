package awsfleet

import (
	"fmt"
	"strings"
	"time"
)

// sessionStarts calls fn for every session of a running (not spawned)
// instance that starts in the hour at hs; first is the instance's first.
func (a *agentRun) sessionStarts(hs time.Time, fn func(in *instance, t time.Time, first bool)) {
	he := hs.Add(time.Hour)
	for _, in := range a.insts {
		if a.assumed[in] || !in.until.After(hs) || !in.from.Before(he) {
			continue
		}
		for k := int64(0); ; k++ {
			t := in.from.Add(time.Duration(k) * in.every)
			if !t.Before(he) || !t.Before(in.until) {
				break
			}
			if !t.Before(hs) && !t.Before(a.f.start) {
				fn(in, t, k == 0)
			}
		}
	}
}

// lazySecret fetches a secret the first time an instance needs it in each
// credential session (the app caches it for an hour).
func (a *agentRun) lazySecret(g *gen, c *caller, in *instance, t time.Time, secret string) {
	k := "secret:" + in.name + ":" + itoa(int64(t.Sub(in.from)/in.every))
	if a.n[k] == 0 {
		a.n[k] = 1
		g.secretValue(c, t.Add(-300*time.Millisecond), secret, true)
	}
}

// requests calls fn for each of the hour's requests (peak an hour at full
// volume, shaped by rh): at a random instant, on an instance running then
// (a request that finds none is skipped), with its caller. i counts every
// request, skipped ones too.
func (a *agentRun) requests(hs time.Time, peak float64, rh *rhythm, fn func(i int, in *instance, c *caller, t time.Time)) {
	for i := range a.rate(peak, rh, hs) {
		t := at(a.r, hs)
		in := a.pick(t)
		if in == nil {
			continue
		}
		fn(i, in, a.caller(in, t), t)
	}
}

func workSupport(g *gen, a *agentRun, hs time.Time) {
	a.sessionStarts(hs, func(in *instance, t time.Time, first bool) {
		c := a.caller(in, t)
		t = t.Add(2 * time.Second)
		if first {
			g.callerIdentity(c, t)
			g.parameter(c, t.Add(time.Second), []string{"/support-assistant/prod/config", "/support-assistant/prod/feature-flags"}, false, true)
		}
		g.secretValue(c, t.Add(1500*time.Millisecond), "prod/support-assistant/zendesk-api-token", true)
	})
	busy := customers.at(hs) > 0.8
	a.requests(hs, 38, &customers, func(_ int, in *instance, c *caller, t time.Time) {
		v := a.version(t)
		a.n["ticket"]++
		ticket := 4_810_000 + a.n["ticket"]*3 + a.r.IntN(3)
		g.model(c, t, "InvokeModel", modelEmbedding, false)
		t = after(a.r, t, 150, 400)
		for range 1 + a.r.IntN(3) {
			err := ""
			if a.r.IntN(120) == 0 {
				err = "NoSuchKey"
			}
			g.s3Object(c, t, "GetObject", "acme-support-kb", kbKey(zipf(a.r, kbArticles)), int64(2_000+a.r.IntN(30_000)), err)
			t = after(a.r, t, 30, 120)
		}
		if a.r.IntN(4) == 0 {
			for range 1 + a.r.IntN(2) {
				ext := []string{"png", "pdf", "jpg", "log", "txt"}[a.r.IntN(5)]
				g.s3Object(c, t, "GetObject", "acme-support-attachments", fmt.Sprintf("tickets/%d/%s.%s", ticket, newUUID(a.r), ext),
					int64(20_000+a.r.IntN(3_000_000)), "")
				t = after(a.r, t, 40, 200)
			}
		}
		t = after(a.r, t, 200, 900)
		throttled := busy && a.r.IntN(50) == 0
		g.model(c, t, "Converse", v.Model, throttled)
		if throttled {
			t = after(a.r, t, 1000, 4000)
			g.model(c, t, "Converse", v.Model, false)
		}
		if a.r.IntN(12) == 0 {
			g.s3Object(c, after(a.r, t, 3000, 9000), "PutObject", "acme-support-kb", fmt.Sprintf("drafts/%d.md", ticket), int64(1_000+a.r.IntN(8_000)), "")
		}
	})
}

func workCI(g *gen, a *agentRun, hs time.Time) {
	a.requests(hs, 4.5, &office, func(_ int, in *instance, c *caller, t time.Time) {
		svc, deployable := services[zipf(a.r, len(services))].name, false
		for _, s := range services {
			if s.name == svc {
				deployable = s.lambda
			}
		}
		if g.f.driftOn("D2-new-deploy-target", t) && a.r.IntN(4) == 0 {
			svc, deployable = "billing-webhook", true
			c = c.with(driftLabel("D2-new-deploy-target"))
		}
		sha := randString(a.r, lowerHex, 40)
		g.callerIdentity(c, t)
		g.parameter(c, after(a.r, t, 200, 500), []string{"/ci/deploy/" + svc + "/config"}, false, true)
		t = after(a.r, t, 2000, 6000)
		if a.r.IntN(2) == 0 {
			miss := ""
			if a.r.IntN(5) == 0 {
				miss = "NoSuchKey" // a cold cache
			}
			g.s3Object(c, t, "GetObject", "acme-build-artifacts", "cache/"+svc+"/deps-"+randString(a.r, lowerHex, 16)+".tar.zst",
				int64(50_000_000+a.r.IntN(400_000_000)), miss)
		}
		t = t.Add(time.Duration(60+a.r.IntN(180)) * time.Second) // the build itself
		g.ecrCall(c, t, "GetAuthorizationToken", "")
		for range 2 + a.r.IntN(2) {
			t = after(a.r, t, 100, 400)
			g.ecrCall(c, t, "BatchCheckLayerAvailability", svc)
		}
		for range 1 + a.r.IntN(3) {
			g.ecrCall(c, after(a.r, t, 100, 300), "InitiateLayerUpload", svc)
			for range 1 + a.r.IntN(3) {
				t = after(a.r, t, 800, 3000)
				g.ecrCall(c, t, "UploadLayerPart", svc)
			}
			g.ecrCall(c, after(a.r, t, 100, 400), "CompleteLayerUpload", svc)
		}
		t = after(a.r, t, 500, 1500)
		g.ecrCall(c, t, "PutImage", svc)
		for _, f := range []string{"manifest.json", "sbom.spdx.json"} {
			g.s3Object(c, after(a.r, t, 200, 800), "PutObject", "acme-build-artifacts", "builds/"+svc+"/"+sha+"/"+f, int64(2_000+a.r.IntN(400_000)), "")
		}
		if deployable && a.r.IntN(10) < 6 {
			t = t.Add(time.Duration(10+a.r.IntN(40)) * time.Second)
			g.lambda(c, t, "GetFunction", svc)
			if a.r.IntN(15) == 0 {
				g.iam(c, after(a.r, t, 100, 300), "GetRole", map[string]any{"roleName": "svc-" + svc})
			}
			g.lambda(c, after(a.r, t, 300, 900), "UpdateFunctionCode", svc)
			for i := range 2 {
				g.lambda(c, after(a.r, t, 2000+i*2000, 3000+i*2000), "GetFunction", svc)
			}
			t = t.Add(8 * time.Second)
			g.lambda(c, t, "PublishVersion", svc)
			g.lambda(c, after(a.r, t, 300, 900), "UpdateAlias", svc)
		}
	})
}

// lakeQuery is one of the data agent's questions: a table, recent days,
// some of their files.
func (a *agentRun) lakeQuery(g *gen, c *caller, t time.Time, table string, days, files int) time.Time {
	parts := 8
	for _, lt := range lakeTables {
		if lt.name == table {
			parts = lt.parts
		}
	}
	if table == "clickstream" {
		parts = 32
	}
	var fs [][2]string
	for range files {
		d := t.AddDate(0, 0, -1-a.r.IntN(days)).Truncate(24 * time.Hour)
		fs = append(fs, lakeFile(table, d, a.r.IntN(parts)))
	}
	sql := fmt.Sprintf("SELECT dt, count(*) AS n FROM lake.%s WHERE dt >= '%s' GROUP BY dt ORDER BY dt", table, t.AddDate(0, 0, -days).Format(time.DateOnly))
	if a.r.IntN(3) == 0 {
		g.glue(c, t.Add(-400*time.Millisecond), "GetTable", "lake", table)
	}
	return g.athenaQuery(c, t, "analytics", "lake", table, sql, fs, "acme-athena-results", "analytics/")
}

func workData(g *gen, a *agentRun, hs time.Time) {
	a.requests(hs, 7, &office, func(_ int, in *instance, c *caller, t time.Time) {
		table := lakeTables[zipf(a.r, len(lakeTables))].name
		if g.f.driftOn("D1-new-lake-prefix", t) && a.r.IntN(4) == 0 {
			table, c = "clickstream", c.with(driftLabel("D1-new-lake-prefix"))
		}
		a.lakeQuery(g, c, t, table, 7, 2+a.r.IntN(6))
	})
	// The nightly batch (CronJob, 06:00 UTC) and the Monday weekly job.
	if hs.Hour() == 6 || (hs.Hour() == 7 && hs.Weekday() == time.Monday) {
		job, queries, files := "nightly", 20, 14
		if hs.Hour() == 7 {
			job, queries, files = "weekly", 12, 30
		}
		start := hs.Add(time.Duration(5+a.r.IntN(20)) * time.Second)
		name := fmt.Sprintf("data-analyst-%s-%d-%s", job, hs.Unix()/60, randString(a.r, podAlphabet, 5))
		in := a.spawn(g, name, start, start.Add(55*time.Minute), Label{})
		c := a.caller(in, start)
		t := start.Add(4 * time.Second)
		g.callerIdentity(c, t)
		for q := range a.scaled(queries) {
			table := lakeTables[q%len(lakeTables)].name
			t = a.lakeQuery(g, c, t.Add(time.Duration(1+a.r.IntN(20))*time.Second), table, 1+6*(q%2), a.scaled(files))
		}
		if g.f.driftOn("D1-new-lake-prefix", t) {
			dc := c.with(driftLabel("D1-new-lake-prefix"))
			for range a.scaled(4) {
				t = a.lakeQuery(g, dc, t.Add(time.Duration(1+a.r.IntN(20))*time.Second), "clickstream", 1, a.scaled(files))
			}
		}
		for _, rep := range []string{"kpi", "funnel", "retention", "revenue", "support"} {
			t = after(a.r, t, 500, 3000)
			g.s3Object(c, t, "PutObject", "acme-analytics-lake", "reports/"+job+"/"+hs.Format(time.DateOnly)+"/"+rep+".parquet", int64(100_000+a.r.IntN(9_000_000)), "")
		}
	}
}

func workFinops(g *gen, a *agentRun, hs time.Time) {
	monthly := hs.Day() == 1 && hs.Hour() == 4
	if !monthly && !(hs.Hour() == 5) {
		return
	}
	start := hs.Add(time.Duration(a.r.IntN(40)) * time.Second)
	if !monthly {
		start = start.Add(30 * time.Minute)
	}
	l := Label{}
	if monthly && !hs.Before(g.f.test) {
		l = driftLabel("D6-month-end-close")
	}
	in := a.spawn(g, taskID(a.r), start.Add(-20*time.Second), start.Add(50*time.Minute), l)
	c := a.caller(in, start)
	t := start
	g.secretValue(c, t, "prod/finops/slack-webhook", true)
	prev := hs.AddDate(0, -1, 0)
	calls, queries, files, reports := 6, 3, 4, []string{"summary.csv", "summary.json"}
	period := hs.Format("2006-01")
	if monthly {
		calls, queries, files = 48, 16, 30
		period = prev.Format("2006-01")
		reports = []string{"close.xlsx", "by-team.xlsx", "by-service.xlsx", "by-account.xlsx", "ri-coverage.xlsx", "sp-coverage.xlsx", "anomalies.csv", "forecast.csv"}
	}
	groups := []string{"SERVICE", "LINKED_ACCOUNT", "USAGE_TYPE", "REGION", "tag:team", "tag:app"}
	for i := range a.scaled(calls) {
		t = after(a.r, t, 300, 1500)
		g.api(c, t, "ce", "GetCostAndUsage", map[string]any{
			"timePeriod":  map[string]any{"start": prev.Format("2006-01-02"), "end": hs.Format("2006-01-02")},
			"granularity": []string{"DAILY", "MONTHLY"}[i%2], "metrics": []string{"UnblendedCost", "AmortizedCost"},
			"groupBy": []map[string]any{{"type": "DIMENSION", "key": groups[i%len(groups)]}}})
	}
	g.api(c, after(a.r, t, 300, 900), "ce", "GetCostForecast", map[string]any{"metric": "UNBLENDED_COST", "granularity": "MONTHLY"})
	if monthly {
		for _, op := range []string{"GetReservationUtilization", "GetSavingsPlansUtilization"} {
			for range 3 {
				t = after(a.r, t, 400, 1200)
				g.api(c, t, "ce", op, map[string]any{"timePeriod": map[string]any{"start": prev.Format("2006-01-02"), "end": hs.Format("2006-01-02")}})
			}
		}
	}
	for range a.scaled(queries) {
		var fs [][2]string
		for range a.scaled(files) {
			fs = append(fs, curFile(period, a.r.IntN(60)))
		}
		t = g.athenaQuery(c, after(a.r, t, 500, 2000), "finops", "cur", "cur_daily",
			"SELECT line_item_product_code, sum(line_item_unblended_cost) FROM cur.cur_daily WHERE billing_period = '"+period+"' GROUP BY 1",
			fs, "acme-athena-results", "finops/")
	}
	for _, r := range reports {
		dir := "daily/" + hs.Format(time.DateOnly)
		if monthly {
			dir = "monthly/" + period
		}
		t = after(a.r, t, 300, 1200)
		g.s3Object(c, t, "PutObject", "acme-finops-reports", dir+"/"+r, int64(20_000+a.r.IntN(2_000_000)), "")
	}
}

func workOps(g *gen, a *agentRun, hs time.Time) {
	polls := a.scaled(30) // every two minutes at full volume
	for i := range polls {
		t := hs.Add(time.Duration(i)*time.Hour/time.Duration(polls) + time.Duration(a.r.IntN(5000))*time.Millisecond)
		in := a.pick(t)
		if in == nil {
			continue
		}
		g.api(a.caller(in, t), t, "monitoring", "DescribeAlarms", map[string]any{"stateValue": "ALARM", "maxRecords": 100})
	}
	if in := a.pick(hs); in != nil {
		t := hs.Add(time.Duration(a.r.IntN(3000)) * time.Second)
		c := a.caller(in, t)
		g.api(c, t, "ec2", "DescribeInstanceStatus", map[string]any{"filterSet": map[string]any{}, "includeAllInstances": false})
		if hs.Hour()%6 == 0 {
			g.api(c, after(a.r, t, 500, 3000), "autoscaling", "DescribeAutoScalingGroups", map[string]any{"maxRecords": 100})
		}
		if hs.Hour() == 12 {
			g.api(c, after(a.r, t, 500, 3000), "cloudtrail", "GetTrailStatus", map[string]any{"name": "arn:aws:cloudtrail:" + HomeRegion + ":" + Account + ":trail/" + TrailName})
		}
	}
	// An alarm fires now and then, more in the working day: the agent
	// reads the logs and may restart the service.
	if a.r.Float64() < 0.04+0.08*office.at(hs) {
		t := at(a.r, hs)
		in := a.pick(t)
		if in == nil {
			return
		}
		c := a.caller(in, t)
		app := services[a.r.IntN(len(services))].name
		g.api(c, t, "monitoring", "DescribeAlarmHistory", map[string]any{"alarmName": app + "-5xx-rate", "historyItemType": "StateUpdate"})
		g.api(c, after(a.r, t, 300, 900), "logs", "DescribeLogGroups", map[string]any{"logGroupNamePrefix": logGroup(app)})
		for range 1 + a.r.IntN(3) {
			t = after(a.r, t, 1000, 5000)
			qid := newUUID(a.r)
			g.api(c, t, "logs", "StartQuery", map[string]any{"logGroupName": logGroup(app), "startTime": t.Add(-time.Hour).Unix(), "endTime": t.Unix(),
				"queryString": "fields @timestamp, @message | filter level = 'ERROR' | sort @timestamp desc | limit 200"})
			g.api(c, after(a.r, t, 1500, 4000), "logs", "GetQueryResults", map[string]any{"queryId": qid})
		}
		g.api(c, after(a.r, t, 500, 2000), "ec2", "DescribeInstances", map[string]any{"instancesSet": map[string]any{},
			"filterSet": map[string]any{"items": []map[string]any{{"name": "tag:app", "valueSet": map[string]any{"items": []map[string]any{{"value": app}}}}}}})
		if a.r.IntN(2) == 0 {
			t = after(a.r, t, 2000, 8000)
			cmd := newUUID(a.r)
			inst := "i-0" + randString(a.r, lowerHex, 16)
			g.api(c, t, "ssm", "SendCommand", map[string]any{"documentName": "acme-RestartService", "instanceIds": []string{inst},
				"parameters": "HIDDEN_DUE_TO_SECURITY_REASONS", "comment": "restart " + app + " (alarm " + app + "-5xx-rate)"})
			for i := range 3 {
				g.api(c, after(a.r, t, 3000*(i+1), 3000*(i+1)+2000), "ssm", "GetCommandInvocation", map[string]any{"commandId": cmd, "instanceId": inst})
			}
		}
	}
}

const guardDutyDetector = "a4c7e1f09b2d3c5e8f6a7b9c0d1e2f34"

func workSecurity(g *gen, a *agentRun, hs time.Time) {
	polls := a.scaled(4) // every fifteen minutes at full volume
	for i := range polls {
		t := hs.Add(time.Duration(i)*time.Hour/time.Duration(polls) + time.Duration(a.r.IntN(20_000))*time.Millisecond)
		in := a.pick(t)
		if in == nil {
			continue
		}
		c := a.caller(in, t)
		g.api(c, t, "guardduty", "ListFindings", map[string]any{"detectorId": guardDutyDetector, "maxResults": 50,
			"findingCriteria": map[string]any{"criterion": map[string]any{"updatedAt": map[string]any{"gte": t.Add(-15 * time.Minute).UnixMilli()}}}})
		if a.r.IntN(3) == 0 {
			g.api(c, after(a.r, t, 300, 900), "guardduty", "GetFindings", map[string]any{"detectorId": guardDutyDetector,
				"findingIds": []string{randString(a.r, lowerHex, 32)}})
		}
		g.api(c, after(a.r, t, 1000, 2000), "securityhub", "GetFindings", map[string]any{"maxResults": 100,
			"filters": map[string]any{"RecordState": []map[string]any{{"Value": "ACTIVE", "Comparison": "EQUALS"}}}})
		if i == 0 {
			g.api(c, after(a.r, t, 2000, 4000), "access-analyzer", "ListFindings", map[string]any{
				"analyzerArn": arnRegional("access-analyzer", HomeRegion, "analyzer/acme-account")})
		}
	}
	a.requests(hs, 4, &office, func(_ int, in *instance, c *caller, t time.Time) {
		for range 2 + a.r.IntN(3) {
			t = after(a.r, t, 500, 3000)
			g.api(c, t, "cloudtrail", "LookupEvents", map[string]any{"maxResults": 50, "lookupAttributes": []map[string]any{
				{"attributeKey": "Username", "attributeValue": accountRoles[a.r.IntN(len(accountRoles))]}}})
		}
		role := accountRoles[a.r.IntN(len(accountRoles))]
		g.iam(c, after(a.r, t, 300, 900), "GetRole", map[string]any{"roleName": role})
		g.iam(c, after(a.r, t, 900, 1500), "ListAttachedRolePolicies", map[string]any{"roleName": role})
		if a.r.IntN(3) == 0 {
			g.api(c, after(a.r, t, 1500, 3000), "ec2", "DescribeSecurityGroups", map[string]any{"securityGroupSet": map[string]any{}, "filterSet": map[string]any{}})
		}
		if a.r.IntN(5) == 0 {
			r := g.s3Bucket(c, after(a.r, t, 1500, 3000), "GetBucketPolicy", accountBuckets[a.r.IntN(len(accountBuckets))], map[string]any{"policy": ""})
			if a.r.IntN(2) == 0 {
				fail(r, "NoSuchBucketPolicy", "The bucket policy does not exist")
			}
		}
	})
}

func workDocs(g *gen, a *agentRun, hs time.Time) {
	in := a.insts[0]
	index := func(c *caller, t time.Time, space string, page int) time.Time {
		key := docKey(space, page)
		err := ""
		if space == "LEGAL" && a.r.IntN(40) == 0 {
			err = "AccessDenied" // a restricted page the bucket policy keeps out
		}
		g.s3Object(c, t, "GetObject", "acme-docs", key, int64(8_000+a.r.IntN(200_000)), err)
		if err != "" {
			return after(a.r, t, 100, 300)
		}
		for range 1 + a.r.IntN(3) {
			t = after(a.r, t, 150, 600)
			g.model(c, t, "InvokeModel", modelEmbedding, a.r.IntN(400) == 0)
		}
		t = after(a.r, t, 100, 400)
		g.s3Object(c, t, "PutObject", "acme-docs-index", "embeddings/"+strings.TrimSuffix(strings.TrimPrefix(key, "confluence/"), ".html")+".json",
			int64(30_000+a.r.IntN(90_000)), "")
		return t
	}
	// Hourly run (EventBridge, :05): the pages changed in the last hour.
	t := hs.Add(5*time.Minute + time.Duration(a.r.IntN(20_000))*time.Millisecond)
	c := a.caller(in, t)
	changed := a.rate(9, &office, hs) + poisson(a.r, 0.5)
	for _, sp := range docSpaces[:3+a.r.IntN(3)] {
		g.s3List(c, t, "acme-docs", "confluence/"+sp.key+"/", 1000, "")
		t = after(a.r, t, 200, 800)
	}
	for range changed {
		sp := docSpaces[zipf(a.r, len(docSpaces))]
		t = index(c, after(a.r, t, 50, 300), sp.key, zipf(a.r, sp.pages))
	}
	// Nightly (03:00 UTC): re-index one space's pages touched this month.
	if hs.Hour() == 3 {
		sp := docSpaces[int(hs.Sub(a.f.start)/(24*time.Hour))%len(docSpaces)]
		t := hs.Add(time.Duration(a.r.IntN(30)) * time.Second)
		c := a.caller(in, t)
		for p := 0; p*1000 < sp.pages; p++ {
			g.s3List(c, t, "acme-docs", "confluence/"+sp.key+"/", min(1000, sp.pages-p*1000), "")
			t = after(a.r, t, 300, 900)
		}
		for range a.scaled(sp.pages / 4) {
			t = index(c, after(a.r, t, 20, 200), sp.key, a.r.IntN(sp.pages))
		}
	}
}

func workInvoices(g *gen, a *agentRun, hs time.Time) {
	a.requests(hs, 22, &euOffice, func(i int, in *instance, c *caller, t time.Time) {
		a.lazySecret(g, c, in, t, "prod/invoice-processor/erp-api-key")
		dir := t.Format("2006/01/02")
		if i%10 == 0 {
			g.s3List(c, t, "acme-invoices-eu", "incoming/"+dir+"/", 20+a.r.IntN(100), "")
		}
		id := newUUID(a.r)
		key := "incoming/" + dir + "/" + id + ".pdf"
		t = after(a.r, t, 100, 400)
		g.s3Object(c, t, "GetObject", "acme-invoices-eu", key, int64(40_000+a.r.IntN(2_000_000)), "")
		t = after(a.r, t, 300, 900)
		g.api(c, t, "textract", "AnalyzeExpense", map[string]any{"document": map[string]any{"s3Object": map[string]any{"bucket": "acme-invoices-eu", "name": key}}})
		for range 1 + a.r.IntN(2) {
			t = after(a.r, t, 2000, 9000)
			g.model(c, t, "Converse", modelEUSonnet, a.r.IntN(150) == 0)
		}
		g.s3Object(c, after(a.r, t, 200, 900), "PutObject", "acme-invoices-eu", "processed/"+dir+"/"+id+".json", int64(2_000+a.r.IntN(20_000)), "")
	})
}

func workReview(g *gen, a *agentRun, hs time.Time) {
	a.requests(hs, 5, &office, func(_ int, in *instance, c *caller, t time.Time) {
		v := a.version(t)
		a.lazySecret(g, c, in, t, "prod/devex/github-app-private-key")
		if a.r.IntN(250) == 0 {
			// A repository's config asks for a token the bot may not read.
			g.secretValue(c, after(a.r, t, 100, 300), "prod/devex/sonar-token", false)
		}
		repo := repos[zipf(a.r, len(repos))]
		key := "repos/" + repo + "/" + randString(a.r, lowerHex, 40) + ".tar.gz"
		if a.r.IntN(10) < 7 {
			g.s3Object(c, after(a.r, t, 200, 600), "GetObject", "acme-review-cache", key, int64(5_000_000+a.r.IntN(80_000_000)), "")
		} else {
			g.s3Object(c, after(a.r, t, 200, 600), "GetObject", "acme-review-cache", key, 0, "NoSuchKey")
			g.s3Object(c, after(a.r, t, 20_000, 60_000), "PutObject", "acme-review-cache", key, int64(5_000_000+a.r.IntN(80_000_000)), "")
		}
		t = after(a.r, t, 5000, 30_000)
		for range 2 + a.r.IntN(3) {
			t = after(a.r, t, 4000, 20_000)
			g.model(c, t, "ConverseStream", v.Model, a.r.IntN(100) == 0)
		}
		if a.r.IntN(3) == 0 {
			g.model(c, after(a.r, t, 1000, 3000), "InvokeModel", modelHaiku, false)
		}
	})
}

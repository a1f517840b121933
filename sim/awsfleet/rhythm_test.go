package awsfleet

import (
	"strings"
	"testing"
	"time"
)

// agentOf names the agent whose role signed a record, or "".
func agentOf(r map[string]any) string {
	arn := str(r, "userIdentity", "arn")
	i := strings.Index(arn, ":assumed-role/agent-")
	if i < 0 {
		return ""
	}
	rest := arn[i+len(":assumed-role/agent-"):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func TestWeeklyRhythmHolidayAndJobs(t *testing.T) {
	files, _ := small(t)
	attack := map[string]bool{}
	for _, d := range files {
		for _, l := range d.file.Labels {
			attack[l.EventID] = l.Kind == LabelAttack
		}
	}
	// People-driven work: the agents that answer people, without their
	// scheduled jobs or attacks.
	people := map[string]bool{"support-assistant": true, "code-review-bot": true, "ci-deployer": true, "data-analyst": true}
	perDay := map[string]int{}
	var perHour [24]int
	var nightly, holidayFinops, dailyFinops int
	monthly := map[string]int{} // what the finops agent does only at month end, by day
	for _, d := range files {
		for _, r := range d.recs {
			a := agentOf(r)
			if a == "" {
				continue
			}
			et, _ := time.Parse(ctTime, str(r, "eventTime"))
			arn := str(r, "userIdentity", "arn")
			switch {
			case a == "finops-reporter" && (str(r, "eventName") == "GetReservationUtilization" ||
				strings.HasPrefix(str(r, "requestParameters", "key"), "monthly/")):
				monthly[et.Format("2006-01-02T15")]++
			case a == "finops-reporter" && et.Format(time.DateOnly) == "2025-11-27":
				holidayFinops++
			case a == "finops-reporter" && et.Format(time.DateOnly) == "2025-12-03":
				dailyFinops++
			case strings.Contains(arn, "data-analyst-nightly-") && et.Hour() == 6:
				nightly++
			}
			// Work itself, not the credential and configuration calls
			// pods make around the clock.
			switch str(r, "eventSource") {
			case "secretsmanager.amazonaws.com", "ssm.amazonaws.com", "sts.amazonaws.com", "kms.amazonaws.com":
				continue
			}
			if !people[a] || attack[str(r, "eventID")] || strings.Contains(arn, "-nightly-") || strings.Contains(arn, "-weekly-") {
				continue
			}
			local := et.In(eastern)
			perDay[local.Format(time.DateOnly)]++
			perHour[local.Hour()]++
		}
	}
	wd := perDay["2025-12-02"] + perDay["2025-12-03"]
	we := perDay["2025-12-06"] + perDay["2025-12-07"]
	if wd < 3*we/2 {
		t.Errorf("people-driven calls: %d on two weekdays, %d on two weekend days", wd, we)
	}
	if th, next := perDay["2025-11-27"], perDay["2025-12-04"]; 2*th > next {
		t.Errorf("people-driven calls: %d on Thanksgiving, %d the next Thursday", th, next)
	}
	day, night := perHour[10]+perHour[11]+perHour[14]+perHour[15], perHour[1]+perHour[2]+perHour[3]+perHour[4]
	if day < 3*night {
		t.Errorf("people-driven calls: %d in four office hours, %d in four night hours", day, night)
	}
	// Machines keep their schedule through the holiday.
	if holidayFinops == 0 || dailyFinops == 0 {
		t.Errorf("the daily finops run: %d calls on Thanksgiving, %d on a Wednesday", holidayFinops, dailyFinops)
	}
	if nightly < 100 {
		t.Errorf("nightly batch: %d calls at 06:00 UTC from its CronJob pods", nightly)
	}
	if len(monthly) != 1 || monthly["2025-12-01T04"] < 4 {
		t.Errorf("month-end calls by hour: %v, want them all on the 1st at 04:00 UTC", monthly)
	}
}

func TestCalendar(t *testing.T) {
	thanksgiving := time.Date(2025, 11, 27, 15, 0, 0, 0, time.UTC) // 10:00 EST
	if f := holidayFactor(thanksgiving); f > 0.2 {
		t.Errorf("Thanksgiving factor %v", f)
	}
	if f := holidayFactor(thanksgiving.AddDate(0, 0, 7)); f != 1 {
		t.Errorf("an ordinary Thursday's factor %v", f)
	}
	if office.at(thanksgiving) >= office.at(thanksgiving.AddDate(0, 0, 7))/4 {
		t.Error("office rhythm ignores the holiday")
	}
	sat := time.Date(2025, 12, 6, 15, 0, 0, 0, time.UTC)
	if office.at(sat) >= office.at(sat.AddDate(0, 0, -3))/4 || customers.at(sat) < office.at(sat) {
		t.Error("weekend rhythm: office should drop, customers less so")
	}
	// 01:00 UTC Saturday is still Friday evening on the East Coast.
	if isWeekendLocal(time.Date(2025, 12, 6, 1, 0, 0, 0, time.UTC)) {
		t.Error("Friday evening EST counted as the weekend")
	}
	if euOffice.at(time.Date(2025, 12, 3, 10, 0, 0, 0, time.UTC)) != 1 || euOffice.at(sat) != 0 {
		t.Error("EU office rhythm")
	}
}

func TestAttacksAndDriftAreLabelledBesideTheRecords(t *testing.T) {
	files, st := small(t)
	test := DefaultTestWeek
	ids := map[string]bool{}
	labelled := map[string]Label{}
	for _, d := range files {
		for _, l := range d.file.Labels {
			labelled[l.EventID] = l.Label
		}
	}
	attackN, driftN := map[string]int{}, map[string]int{}
	for _, d := range files {
		raw := string(d.file.JSON)
		for _, a := range attacks {
			if strings.Contains(raw, a.ID) {
				t.Fatalf("%s: the attack id %s is written inside a record", d.file.Key, a.ID)
			}
		}
		for _, r := range d.recs {
			id := str(r, "eventID")
			ids[id] = true
			l, ok := labelled[id]
			if !ok {
				continue
			}
			et, _ := time.Parse(ctTime, str(r, "eventTime"))
			if et.Before(test.Add(-time.Hour)) {
				t.Errorf("%s record %s at %v, before the test week", l.ID, id, et)
			}
			if l.Kind == LabelAttack {
				attackN[l.ID]++
			} else {
				driftN[l.ID]++
			}
		}
	}
	for id := range labelled {
		if !ids[id] {
			t.Fatalf("label for eventID %s, which no record has", id)
		}
	}
	for _, a := range attacks {
		if attackN[a.ID] == 0 {
			t.Errorf("attack %s has no records", a.ID)
		}
	}
	for _, d := range drifts {
		if driftN[d.ID] == 0 && d.ID != "D2-new-deploy-target" { // D2 is a few builds: none at this scale is possible
			t.Errorf("drift %s has no records", d.ID)
		}
	}
	total := 0
	for _, n := range attackN {
		total += n
	}
	if total != st.Attack {
		t.Errorf("%d attack records found, Stats says %d", total, st.Attack)
	}
}

func TestKeySpacesHoldThousandsOfKeys(t *testing.T) {
	seen := map[string]bool{}
	for i := range kbArticles {
		seen[kbKey(i)] = true
	}
	for _, sp := range docSpaces {
		for n := range sp.pages {
			seen[docKey(sp.key, n)] = true
		}
	}
	if len(seen) != kbArticles+5600 {
		t.Fatalf("%d distinct article and page keys, want %d", len(seen), kbArticles+5600)
	}
	files, _ := small(t)
	prefixes := map[string]map[string]bool{}
	for _, d := range files {
		for _, r := range d.recs {
			if str(r, "eventName") != "GetObject" {
				continue
			}
			b, k := str(r, "requestParameters", "bucketName"), str(r, "requestParameters", "key")
			p := b + "/" + strings.SplitN(k, "/", 2)[0]
			if prefixes[p] == nil {
				prefixes[p] = map[string]bool{}
			}
			prefixes[p][k] = true
		}
	}
	for _, p := range []string{"acme-support-kb/articles", "acme-analytics-lake/raw", "acme-docs/confluence"} {
		if len(prefixes[p]) < 150 {
			t.Errorf("%s: %d distinct keys read in two weeks at a twentieth of the volume", p, len(prefixes[p]))
		}
	}
}

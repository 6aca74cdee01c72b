package participant

import (
	"sort"
	"time"
)

// An account's age is estimated from its user id. Telegram hands out
// user ids roughly in the order accounts are created, so a table of ids
// whose creation dates are known brackets every other id between two
// dates, and interpolating between them gives an estimate. The rows and
// their sources are in docs/account-age.md; the table keeps the published
// rows whose dates rise with their ids, and the rows left out show how far
// ids stray from creation order (up to 110 days), which is why every
// estimate carries idOrderSlack either side of its bracket.

// idDate is one row of the table: an account id and the day it was
// created, per the sources in docs/account-age.md.
type idDate struct {
	id  int64
	day string // YYYY-MM-DD, UTC
}

// accountAgeTable is sorted by id, with dates rising with ids.
var accountAgeTable = parseIDDates([]idDate{
	{2768409, "2013-11-01"},
	{7679610, "2013-12-31"},
	{11538514, "2014-02-01"},
	{15835244, "2014-02-21"},
	{23646077, "2014-02-27"},
	{38015510, "2014-03-01"},
	{44634663, "2014-05-06"},
	{46145305, "2014-05-16"},
	{54845238, "2014-09-21"},
	{63263518, "2014-10-28"},
	{101260938, "2015-03-06"},
	{101323197, "2015-03-13"},
	{103151531, "2015-06-04"},
	{109393468, "2015-08-09"},
	{112594714, "2015-08-16"},
	{124872445, "2015-08-18"},
	{125828524, "2015-10-05"},
	{133909606, "2015-10-07"},
	{143445125, "2015-12-01"},
	{148670295, "2016-01-08"},
	{152079341, "2016-01-22"},
	{171295414, "2016-03-09"},
	{181783990, "2016-04-10"},
	{222021233, "2016-06-08"},
	{225034354, "2016-06-18"},
	{278941742, "2016-09-10"},
	{285253072, "2016-10-19"},
	{294851037, "2016-11-20"},
	{297621225, "2016-12-16"},
	{328594461, "2016-12-29"},
	{337808429, "2017-02-22"},
	{341546272, "2017-02-23"},
	{352940995, "2017-02-24"},
	{369669043, "2017-03-31"},
	{400169472, "2017-07-31"},
	{805158066, "2019-07-15"},
	{1974255900, "2021-10-12"},
})

// idOrderSlack widens every bracket: ids are not handed out strictly in
// creation order, and published rows disagree with their neighbours by
// up to 110 days.
const idOrderSlack = 120 * 24 * time.Hour

type idTime struct {
	id int64
	at time.Time
}

func parseIDDates(rows []idDate) []idTime {
	out := make([]idTime, len(rows))
	for i, r := range rows {
		at, err := time.Parse(time.DateOnly, r.day)
		if err != nil {
			panic("participant: account age table: " + err.Error())
		}
		out[i] = idTime{id: r.id, at: at}
	}
	return out
}

// AccountAge is the estimated creation date of a Telegram account.
type AccountAge struct {
	// Estimated is false for an id newer than the table's last row:
	// the account was created after CreatedAfter, and nothing more is
	// known.
	Estimated bool
	// CreatedAt is the estimate, interpolated between the two rows that
	// bracket the id (the first row's date for an older id); zero when not
	// Estimated.
	CreatedAt time.Time
	// CreatedAfter and CreatedBefore bound the creation date, each row's
	// date moved out by idOrderSlack; zero when unbounded (before the
	// oldest row, or after the newest).
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// Days is the estimated age in whole days when the rules were
	// checked; 0 when not Estimated.
	Days int
}

// EstimateAccountAge estimates when the account with the given user id
// was created.
func EstimateAccountAge(userID int64) AccountAge {
	t := accountAgeTable
	i := sort.Search(len(t), func(i int) bool { return t[i].id >= userID })
	switch {
	case i == len(t):
		return AccountAge{CreatedAfter: t[len(t)-1].at.Add(-idOrderSlack)}
	case t[i].id == userID:
		return AccountAge{Estimated: true, CreatedAt: t[i].at,
			CreatedAfter: t[i].at.Add(-idOrderSlack), CreatedBefore: t[i].at.Add(idOrderSlack)}
	case i == 0:
		return AccountAge{Estimated: true, CreatedAt: t[0].at, CreatedBefore: t[0].at.Add(idOrderSlack)}
	}
	lo, hi := t[i-1], t[i]
	frac := float64(userID-lo.id) / float64(hi.id-lo.id)
	at := lo.at.Add(time.Duration(frac * float64(hi.at.Sub(lo.at)))).Truncate(time.Hour)
	return AccountAge{Estimated: true, CreatedAt: at,
		CreatedAfter: lo.at.Add(-idOrderSlack), CreatedBefore: hi.at.Add(idOrderSlack)}
}

// AgeDays is the estimated age at now in whole days; 0 when not
// Estimated.
func (a AccountAge) AgeDays(now time.Time) int {
	if !a.Estimated || now.Before(a.CreatedAt) {
		return 0
	}
	return int(now.Sub(a.CreatedAt) / (24 * time.Hour))
}

// OldEnough reports whether the estimate is at least minDays old at now.
// An account newer than the table's last row is not: its age cannot be
// shown, only bounded above by how long ago that row was.
func (a AccountAge) OldEnough(minDays int, now time.Time) bool {
	if minDays <= 0 {
		return true
	}
	return a.Estimated && a.AgeDays(now) >= minDays
}

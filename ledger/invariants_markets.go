package ledger

import (
	"slices"
	"sort"
	"strings"

	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
)

// checkMarkets checks the financing and trading invariants:
//
//   - a credit policy has 0 < initial ≤ maintenance ≤ 10000 bps and a haircut under 100%;
//   - a loan has outstanding ≤ disbursed ≤ principal, a price to be valued at,
//     and lists its pledges sorted; each names the loan back and is the
//     bank's, pledged by the borrower; a pledge secures at most one loan;
//   - a margin call is open only on an OPEN loan; a REPAID loan owes nothing;
//     a CANCELLED one was never drawn;
//   - an OPEN loan's pledges are ACTIVE or released, none defaulted or
//     invoked; a DEFAULTED loan's ACTIVE pledges are all marked defaulted; a
//     pledge securing a loan is invoked only after its default;
//   - the open-loan index of a commodity and currency lists exactly its OPEN loans;
//   - an offer is ACCEPTED exactly when its trade exists;
//   - an open trade holds its receipt TRANSFER_PENDING to its buyer (with the
//     consented pledge), the seller still holding it; at most one open trade
//     per receipt, and a receipt locked by a trade names an open one;
//   - a trade is SETTLED exactly when its settlement exists, whose legs add up
//     to the price.
func checkMarkets(st Ranger, receipts map[string]*receipt.Receipt, receiptIDs []string,
	pledges map[string]*receipt.Pledge, pledgeIDs []string, fail func(string, ...any)) {
	loans := map[string]*financing.Loan{}
	var loanIDs []string
	decodeAll(st, financing.PrefixLoan, func(k string, v []byte) {
		l := new(financing.Loan)
		mustDecode(k, v, l)
		if k != financing.LoanKey(l.ID) {
			fail("loan %s stored at %s", l.ID, k)
		}
		loans[l.ID] = l
		loanIDs = append(loanIDs, l.ID)
	})
	prices := map[string]bool{}
	decodeAll(st, financing.PrefixPrice, func(k string, v []byte) {
		p := new(financing.Price)
		mustDecode(k, v, p)
		if k != financing.PriceKey(p.Currency, p.Commodity) || p.MinorPerTonne == 0 || p.Version == 0 {
			fail("price at %s: %+v", k, p)
		}
		prices[k] = true
	})
	decodeAll(st, financing.PrefixPolicy, func(k string, v []byte) {
		p := new(financing.CreditPolicy)
		mustDecode(k, v, p)
		if k != financing.PolicyKey(p.Bank, p.Commodity) || p.HaircutBps >= financing.BpsOne || p.InitialLTVBps == 0 ||
			p.InitialLTVBps > p.MaintenanceLTVBps || p.MaintenanceLTVBps > financing.BpsOne || p.MarginCallGraceSec <= 0 || p.Version == 0 {
			fail("credit policy at %s: %+v", k, p)
		}
	})
	indexed := map[string][]string{} // index key -> loans it lists
	var indexKeys []string
	decodeAll(st, financing.PrefixIndex, func(k string, v []byte) {
		idx := new(financing.OpenLoans)
		mustDecode(k, v, idx)
		if k != financing.IndexKey(idx.Currency, idx.Commodity) || !sort.StringsAreSorted(idx.Loans) {
			fail("open-loan index %s: %+v", k, idx)
		}
		indexed[k] = idx.Loans
		indexKeys = append(indexKeys, k)
	})
	sort.Strings(loanIDs)
	sort.Strings(indexKeys)

	openByIndex := map[string][]string{}
	securedBy := map[string]string{} // pledge -> loan listing it
	for _, id := range loanIDs {
		l := loans[id]
		if l.Version == 0 || l.Status < financing.LoanOpen || l.Status > financing.LoanCancelled {
			fail("loan %s: version %d status %d", id, l.Version, l.Status)
		}
		if l.Outstanding > l.Disbursed || l.Disbursed > l.Principal {
			fail("loan %s: outstanding %d, disbursed %d, principal %d", id, l.Outstanding, l.Disbursed, l.Principal)
		}
		if l.Call != nil && l.Status != financing.LoanOpen {
			fail("loan %s: margin call open on a %s loan", id, l.Status)
		}
		if l.Status == financing.LoanRepaid && l.Outstanding != 0 {
			fail("loan %s: repaid with %d outstanding", id, l.Outstanding)
		}
		if l.Status == financing.LoanCancelled && l.Disbursed != 0 {
			fail("loan %s: cancelled after disbursing %d", id, l.Disbursed)
		}
		if t := l.Terms; t.InitialLTVBps == 0 || t.InitialLTVBps > t.MaintenanceLTVBps || t.HaircutBps >= financing.BpsOne {
			fail("loan %s: terms %+v", id, t)
		}
		if !prices[financing.PriceKey(l.Currency, l.Commodity)] {
			fail("loan %s: no price for %s in %s", id, l.Commodity, l.Currency)
		}
		if len(l.Pledges) == 0 || len(l.Pledges) > financing.MaxPledgesPerLoan || !sort.StringsAreSorted(l.Pledges) {
			fail("loan %s: pledges %v", id, l.Pledges)
		}
		if l.Status == financing.LoanOpen {
			k := financing.IndexKey(l.Currency, l.Commodity)
			openByIndex[k] = append(openByIndex[k], id)
		}
		for i, pid := range l.Pledges {
			if i > 0 && l.Pledges[i-1] == pid {
				fail("loan %s: pledge %s listed twice", id, pid)
			}
			if other, dup := securedBy[pid]; dup {
				fail("pledge %s secures loans %s and %s", pid, other, id)
			}
			securedBy[pid] = id
			p, ok := pledges[pid]
			if !ok {
				fail("loan %s: pledge %s missing", id, pid)
				continue
			}
			if p.Loan != id || p.Bank != l.Bank || p.Pledgor != l.Borrower {
				fail("loan %s (%s to %s): pledge %s names loan %q, bank %s, pledgor %s", id, l.Borrower, l.Bank, pid, p.Loan, p.Bank, p.Pledgor)
			}
			switch l.Status {
			case financing.LoanOpen:
				if p.Defaulted || (p.Status != receipt.PledgeActive && p.Status != receipt.PledgeReleased) {
					fail("loan %s is OPEN but pledge %s is %s (defaulted %v)", id, pid, p.Status, p.Defaulted)
				}
			case financing.LoanDefaulted:
				if p.Status == receipt.PledgeActive && !p.Defaulted {
					fail("loan %s is DEFAULTED but active pledge %s is not marked", id, pid)
				}
			}
		}
	}
	for _, pid := range pledgeIDs {
		p := pledges[pid]
		if p.Loan != "" && securedBy[pid] != p.Loan {
			fail("pledge %s names loan %s, which does not list it", pid, p.Loan)
		}
		if p.Defaulted {
			if l, ok := loans[p.Loan]; !ok || (l.Status != financing.LoanDefaulted && l.Status != financing.LoanRepaid) {
				fail("pledge %s marked defaulted, loan %q not in default", pid, p.Loan)
			}
		}
		if p.Status == receipt.PledgeInvoked && p.Loan != "" && !p.Defaulted {
			fail("pledge %s securing loan %s invoked without a default", pid, p.Loan)
		}
	}
	for k := range openByIndex {
		if _, ok := indexed[k]; !ok {
			fail("open loans %v without an index at %s", openByIndex[k], k)
		}
	}
	for _, k := range indexKeys {
		if !slices.Equal(indexed[k], openByIndex[k]) {
			fail("index %s lists %v, open loans are %v", k, indexed[k], openByIndex[k])
		}
	}

	// Trading.
	trades := map[string]*trading.Trade{}
	var tradeIDs []string
	decodeAll(st, trading.PrefixTrade, func(k string, v []byte) {
		t := new(trading.Trade)
		mustDecode(k, v, t)
		if k != trading.TradeKey(t.ID) {
			fail("trade %s stored at %s", t.ID, k)
		}
		trades[t.ID] = t
		tradeIDs = append(tradeIDs, t.ID)
	})
	settlements := map[string]*trading.Settlement{}
	decodeAll(st, trading.PrefixSettlement, func(k string, v []byte) {
		s := new(trading.Settlement)
		mustDecode(k, v, s)
		settlements[strings.TrimPrefix(k, trading.PrefixSettlement)] = s
	})
	decodeAll(st, trading.PrefixOffer, func(k string, v []byte) {
		o := new(trading.Offer)
		mustDecode(k, v, o)
		if _, traded := trades[o.ID]; (o.Status == trading.OfferAccepted) != traded || k != trading.OfferKey(o.ID) {
			fail("offer %s is %s, trade exists %v", o.ID, o.Status, traded)
		}
	})
	sort.Strings(tradeIDs)
	openOn := map[string][]string{}
	for _, id := range tradeIDs {
		t := trades[id]
		s, settled := settlements[id]
		if (t.Status == trading.TradeSettled) != settled {
			fail("trade %s is %s, settlement exists %v", id, t.Status, settled)
		}
		if settled && (s.Trade != id || s.ToLoanMinor+s.ToSellerMinor != s.PriceMinor || s.PriceMinor != t.PriceMinor || (s.Loan == "" && s.ToLoanMinor != 0)) {
			fail("settlement of %s: %+v", id, s)
		}
		if !t.Status.Open() {
			continue
		}
		openOn[t.Receipt] = append(openOn[t.Receipt], id)
		r, ok := receipts[t.Receipt]
		if !ok {
			fail("trade %s: receipt %s missing", id, t.Receipt)
			continue
		}
		if effective(r) != receipt.StateTransferPending || r.Transfer == nil || r.Transfer.Trade != id ||
			r.Transfer.To != t.Buyer || r.Transfer.WithPledge != t.Pledge || r.Holder != t.Seller {
			fail("trade %s (%s): receipt %s is %s held by %s, transfer %+v", id, t.Status, r.ID, r.State, r.Holder, r.Transfer)
		}
	}
	for _, rid := range receiptIDs {
		r := receipts[rid]
		if n := len(openOn[rid]); n > 1 {
			fail("receipt %s: %d open trades %v", rid, n, openOn[rid])
		}
		if r.Transfer != nil && r.Transfer.Trade != "" {
			if t, ok := trades[r.Transfer.Trade]; !ok || !t.Status.Open() || t.Receipt != rid {
				fail("receipt %s locked by trade %s that is not open on it", rid, r.Transfer.Trade)
			}
		}
	}
}

package receipt

import "sort"

// Cosigner is an op whose rules need signatures besides its actor's.
// Cosigners names them, given the state as it stands (x is read, never
// written) and the actor who starts the op: the API, drafts and the CLI
// ask the op instead of restating its rules, and a new co-signed op needs
// no edit anywhere else. Apply stays the judge: a tx whose signers miss
// one is refused whatever Cosigners said.
type Cosigner interface {
	Cosigners(x *Exec, actor string) []string
}

// CosignersOf is who must co-sign op started by actor, besides the actor,
// each once, in order: nil for an op that needs nobody else.
func CosignersOf(x *Exec, actor string, op Op) []string {
	c, ok := op.(Cosigner)
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]bool{actor: true}
	for _, id := range c.Cosigners(x, actor) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// AdminCosigners are the other admins an admin op started by actor needs:
// the first active ones in the consortium's order until its threshold is
// met. None when actor is not an admin (the op will be refused anyway).
func AdminCosigners(x *Exec, actor string) []string {
	c := x.Consortium()
	if !contains(c.Admins, actor) {
		return nil
	}
	var out []string
	for _, a := range c.Admins {
		if uint32(len(out)+1) >= c.Threshold {
			break
		}
		if a == actor {
			continue
		}
		if p, err := x.Participant(a); err == nil && p.Status == ParticipantActive && p.Roles.Has(RoleAdmin) {
			out = append(out, a)
		}
	}
	return out
}

// PledgeeOf is the bank a pledged receipt's holder needs to co-sign what
// would move the goods or the title (a transfer, a sale, a delivery).
func PledgeeOf(x *Exec, receiptID string) []string {
	r, ok := Load[Receipt](x, ReceiptKey(receiptID))
	if !ok || r.State != StatePledged || r.Pledge == "" {
		return nil
	}
	p, ok := Load[Pledge](x, PledgeKey(r.Pledge))
	if !ok {
		return nil
	}
	return []string{p.Bank}
}

// Ranger is a store that walks the keys under a prefix in key order (the
// chain's state, the ledger's simulator).
type Ranger interface {
	Range(prefix string, fn func(key string, value []byte))
}

// FirstWithRole is the first active participant, in id order, holding
// role: "" when the store cannot be walked or none has it.
func FirstWithRole(x *Exec, role Role) string {
	rg, ok := x.Store.(Ranger)
	if !ok {
		return ""
	}
	var ids []string
	rg.Range(ParticipantKey(""), func(_ string, v []byte) {
		var p Participant
		if DecodeRecord(v, &p) == nil && p.Status == ParticipantActive && p.Roles.Has(role) {
			ids = append(ids, p.ID)
		}
	})
	if len(ids) == 0 {
		return ""
	}
	sort.Strings(ids)
	return ids[0]
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (op *Amend) Cosigners(x *Exec, _ string) []string {
	if r, ok := Load[Receipt](x, ReceiptKey(op.Receipt)); ok {
		return []string{r.Holder}
	}
	return nil
}

func (op *InitiateTransfer) Cosigners(x *Exec, _ string) []string { return PledgeeOf(x, op.Receipt) }

func (*RegisterParticipant) Cosigners(x *Exec, actor string) []string {
	return AdminCosigners(x, actor)
}
func (*SuspendParticipant) Cosigners(x *Exec, actor string) []string { return AdminCosigners(x, actor) }
func (*ReinstateParticipant) Cosigners(x *Exec, actor string) []string {
	return AdminCosigners(x, actor)
}

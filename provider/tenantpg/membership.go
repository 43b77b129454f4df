package tenantpg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// Membership makes member a member of role (GRANT role TO member). ID: "<role>/<member>".
type Membership struct{}

// MembershipArgs are the inputs.
type MembershipArgs struct {
	Role        string `pulumi:"role" provider:"replaceOnChanges"`
	Member      string `pulumi:"member" provider:"replaceOnChanges"`
	AdminOption bool   `pulumi:"adminOption,optional"`
}

// MembershipState is what pg_auth_members says.
type MembershipState struct {
	MembershipArgs
}

// Annotate documents the resource.
func (m *Membership) Annotate(a infer.Annotator) {
	a.SetToken("index", "Membership")
	a.Describe(m, "Role membership: member is granted role (and inherits its privileges when member has INHERIT).")
}

// Annotate documents the inputs.
func (m *MembershipArgs) Annotate(a infer.Annotator) {
	a.Describe(&m.Role, "The group role granted.")
	a.Describe(&m.Member, "The role that becomes a member.")
	a.Describe(&m.AdminOption, "WITH ADMIN OPTION: the member may grant the role on.")
}

func (a MembershipArgs) id() string { return a.Role + "/" + a.Member }

// Check validates names.
func (*Membership) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[MembershipArgs], error) {
	return validated(req, func() (MembershipArgs, []p.CheckFailure, error) {
		return infer.DefaultCheck[MembershipArgs](ctx, req.NewInputs)
	}, func(a *MembershipArgs) (string, error) {
		if err := pgcatalog.ValidateIdent("role", a.Role); err != nil {
			return "role", err
		}
		if err := pgcatalog.ValidateIdent("member role", a.Member); err != nil {
			return "member", err
		}
		if a.Role == a.Member {
			return "member", fmt.Errorf("role %s cannot be a member of itself", a.Role)
		}
		return "", nil
	})
}

func readMembership(ctx context.Context, known MembershipArgs) (MembershipState, error) {
	return withConn(ctx, "", func(c *pgx.Conn) (MembershipState, error) {
		ms, err := pgcatalog.Memberships(ctx, c, known.Role)
		if err != nil {
			return MembershipState{}, fmt.Errorf("read membership %s: %w", known.id(), err)
		}
		for _, m := range ms {
			if m.Member == known.Member {
				return MembershipState{MembershipArgs{Role: m.Role, Member: m.Member, AdminOption: m.AdminOption}}, nil
			}
		}
		return MembershipState{}, fmt.Errorf("membership %s: %w", known.id(), pgcatalog.ErrNotFound)
	})
}

func applyMembership(ctx context.Context, in MembershipArgs, wasAdmin bool) (MembershipState, error) {
	grant, err := pgcatalog.GrantMembership(in.Role, in.Member, in.AdminOption)
	if err != nil {
		return MembershipState{}, err
	}
	stmts := []string{grant}
	if wasAdmin && !in.AdminOption {
		s, err := pgcatalog.RevokeMembership(in.Role, in.Member, true)
		if err != nil {
			return MembershipState{}, err
		}
		stmts = append(stmts, s)
	}
	if err := exec(ctx, "", stmts...); err != nil {
		return MembershipState{}, fmt.Errorf("membership %s: %w", in.id(), err)
	}
	return readMembership(ctx, in)
}

// Create grants the membership.
func (*Membership) Create(ctx context.Context, req infer.CreateRequest[MembershipArgs]) (infer.CreateResponse[MembershipState], error) {
	in := req.Inputs
	if req.DryRun {
		return infer.CreateResponse[MembershipState]{ID: in.id(), Output: MembershipState{in}}, nil
	}
	s, err := applyMembership(ctx, in, false)
	return infer.CreateResponse[MembershipState]{ID: in.id(), Output: s}, err
}

// Update sets the admin option.
func (*Membership) Update(ctx context.Context, req infer.UpdateRequest[MembershipArgs, MembershipState]) (infer.UpdateResponse[MembershipState], error) {
	if req.DryRun {
		return infer.UpdateResponse[MembershipState]{Output: MembershipState{req.Inputs}}, nil
	}
	s, err := applyMembership(ctx, req.Inputs, req.State.AdminOption)
	return infer.UpdateResponse[MembershipState]{Output: s}, err
}

// Read returns the live membership; on import the ID is <role>/<member>.
func (*Membership) Read(ctx context.Context, req infer.ReadRequest[MembershipArgs, MembershipState]) (infer.ReadResponse[MembershipArgs, MembershipState], error) {
	parts, err := idParts(req.ID, 2, "<role>/<member>")
	if err != nil {
		return infer.ReadResponse[MembershipArgs, MembershipState]{}, err
	}
	if err := pgcatalog.ValidateIdents("role in ID", parts); err != nil {
		return infer.ReadResponse[MembershipArgs, MembershipState]{}, err
	}
	s, err := readMembership(ctx, MembershipArgs{Role: parts[0], Member: parts[1]})
	if isNotFound(err) {
		return infer.ReadResponse[MembershipArgs, MembershipState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[MembershipArgs, MembershipState]{}, err
	}
	return infer.ReadResponse[MembershipArgs, MembershipState]{ID: req.ID, Inputs: s.MembershipArgs, State: s}, nil
}

// Diff: role and member identify the membership; the admin option changes in place.
func (*Membership) Diff(_ context.Context, req infer.DiffRequest[MembershipArgs, MembershipState]) (infer.DiffResponse, error) {
	o, n := req.State, req.Inputs
	return diffFields(
		field{"role", o.Role, n.Role, true},
		field{"member", o.Member, n.Member, true},
		field{"adminOption", o.AdminOption, n.AdminOption, false},
	), nil
}

// Delete revokes the membership.
func (*Membership) Delete(ctx context.Context, req infer.DeleteRequest[MembershipState]) (infer.DeleteResponse, error) {
	stmt, err := pgcatalog.RevokeMembership(req.State.Role, req.State.Member, false)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	if err := exec(ctx, "", stmt); err != nil && !isGone(err) {
		return infer.DeleteResponse{}, fmt.Errorf("revoke membership %s: %w", req.State.id(), err)
	}
	return infer.DeleteResponse{}, nil
}

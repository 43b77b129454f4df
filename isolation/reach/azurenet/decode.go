// Package azure computes tenant-to-tenant reachability from Azure network resources (VNets and
// their peerings and subnets, route tables, NSGs, private endpoints, Azure Firewalls, NICs) read
// as ARM JSON, and reads them live through the armnetwork SDK.
//
// The analysis reads each resource's ARM "properties" in their generic form, the way the
// Kubernetes analysis reads unstructured objects: an inventory snapshot already holds them
// decoded, and decoding the ARM JSON a second time into the SDK's structs costs seconds at ten
// thousand tenants (its generated decoders re-scan every nesting level). The field names read
// are the SDK's: the live reader lists through armnetwork clients and marshals their values, and
// the tests feed the analysis through the SDK's fake servers.
package azurenet

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/connectsoft/tenantctl/inventory"
)

// ARM resource types the analysis reads.
const (
	TypeVirtualNetwork  = "Microsoft.Network/virtualNetworks"
	TypePeering         = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"
	TypeSubnet          = "Microsoft.Network/virtualNetworks/subnets"
	TypeRouteTable      = "Microsoft.Network/routeTables"
	TypeRoute           = "Microsoft.Network/routeTables/routes"
	TypeNSG             = "Microsoft.Network/networkSecurityGroups"
	TypeSecurityRule    = "Microsoft.Network/networkSecurityGroups/securityRules"
	TypePrivateEndpoint = "Microsoft.Network/privateEndpoints"
	TypeFirewall        = "Microsoft.Network/azureFirewalls"
	TypeInterface       = "Microsoft.Network/networkInterfaces"
)

// obj is an ARM JSON object in generic form.
type obj map[string]any

func (o obj) str(k string) string {
	s, _ := o[k].(string)
	return s
}

func (o obj) obj(k string) obj {
	m, _ := o[k].(map[string]any)
	return m
}

// ref is the id of a sub-resource reference {"id": ...}.
func (o obj) ref(k string) string { return o.obj(k).str("id") }

func (o obj) list(k string) []obj {
	l, _ := o[k].([]any)
	out := make([]obj, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func (o obj) strs(k string) []string {
	l, _ := o[k].([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// strAndList reads a field that ARM spells both singly and as a list ("addressPrefix" and
// "addressPrefixes").
func (o obj) strAndList(single, plural string) []string {
	out := o.strs(plural)
	if s := o.str(single); s != "" {
		out = append([]string{s}, out...)
	}
	return out
}

func (o obj) boolean(k string, def bool) bool {
	if b, ok := o[k].(bool); ok {
		return b
	}
	return def
}

func (o obj) num(k string) int32 {
	switch n := o[k].(type) {
	case float64:
		return int32(n)
	case int64:
		return int32(n)
	case int:
		return int32(n)
	case json.Number:
		i, _ := n.Int64()
		return int32(i)
	}
	return 0
}

func (o obj) props() obj { return o.obj("properties") }

// resource is one top-level ARM resource: its envelope and properties.
type resource struct {
	id, name string
	props    obj
	tags     map[string]string
}

// decoded is the snapshot's network resources by type.
type decoded struct {
	vnets, peerings, subnets, tables, nsgs, endpoints, firewalls, nics []resource
	// tags of every resource by lower-cased id, for owning private endpoint targets.
	tags map[string]map[string]string
}

// decode sorts the snapshot's resources by type. Properties come from the snapshot's decoded
// envelope; a resource that carries only Raw is decoded from it.
func decode(resources []inventory.AzureResource) (*decoded, error) {
	d := &decoded{tags: make(map[string]map[string]string, len(resources))}
	for _, r := range resources {
		if len(r.Tags) > 0 {
			d.tags[strings.ToLower(r.ID)] = r.Tags
		}
		var list *[]resource
		switch strings.ToLower(r.Type) {
		case strings.ToLower(TypeVirtualNetwork):
			list = &d.vnets
		case strings.ToLower(TypePeering):
			list = &d.peerings
		case strings.ToLower(TypeSubnet):
			list = &d.subnets
		case strings.ToLower(TypeRouteTable):
			list = &d.tables
		case strings.ToLower(TypeNSG):
			list = &d.nsgs
		case strings.ToLower(TypePrivateEndpoint):
			list = &d.endpoints
		case strings.ToLower(TypeFirewall):
			list = &d.firewalls
		case strings.ToLower(TypeInterface):
			list = &d.nics
		default:
			continue
		}
		props := obj(r.Properties)
		if props == nil && len(r.Raw) > 0 {
			var env struct {
				Properties map[string]any `json:"properties"`
			}
			if err := json.Unmarshal(r.Raw, &env); err != nil {
				return nil, fmt.Errorf("azure resource %s (%s): %w", r.ID, r.Type, err)
			}
			props = env.Properties
		}
		*list = append(*list, resource{id: r.ID, name: r.Name, props: props, tags: r.Tags})
	}
	return d, nil
}

// nested reads an inline child (a subnet or peering inside a VNet) as a resource.
func nested(o obj) resource {
	return resource{id: o.str("id"), name: o.str("name"), props: o.props()}
}

// lower is how resource ids are compared: ARM ids are case-insensitive.
func lower(id string) string { return strings.ToLower(id) }

// parentID strips the last "/type/name" pair of an ARM id: a subnet's id gives its VNet's.
func parentID(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) < 3 {
		return ""
	}
	return strings.Join(parts[:len(parts)-2], "/")
}

// resourceGroup returns the resource group segment of an ARM id.
func resourceGroup(id string) string { return IDSegment(id, "resourceGroups") }

// IDSegment returns the name that follows key in an ARM id ("resourceGroups",
// "managedClusters"), compared case-insensitively as ARM does; "" when the id has no such key.
func IDSegment(id, key string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], key) {
			return parts[i+1]
		}
	}
	return ""
}

// lastSegment returns the name at the end of an ARM id.
func lastSegment(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

// Package tenantplan decides everything a stack creates, before anything is created and without
// Pulumi: for each tenant in an environment (ForTenant) and for each environment's platform
// (ForPlatform), layer by layer, on the environment's target (kubernetes or azure). It is the one
// place that decides names (stacks, namespaces, ServiceAccounts, roles, policies, resource groups,
// VNets, vaults, databases), labels and tags, so every reader agrees with the programs:
//
//   - the Pulumi programs (stacks/kubernetes, stacks/azure) render a plan into resources;
//   - reachability's desired mode (isolation/reach) analyses a plan's objects as if they were live;
//   - drift (drift/...) reads names, labels and the platform's expected outputs from here.
//
// A plan is plain data: exported fields, JSON-serialisable, deterministic for the same inputs.
// Adding a layer is adding a field to Tenant (or Platform) and a planner function that fills it;
// parts only one target realises hang off the layer as an optional field (Network.VNet on azure).
package tenantplan

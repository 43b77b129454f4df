// Roles, databases, schemas, shared tables, grants, default privileges, row-level security, policies and memberships on PostgreSQL, read back live from the catalog; generated passwords kept in the state.
package tenantpg

// Roles, databases, schemas, grants, default privileges, row-level security, policies and memberships on PostgreSQL, read back live from the catalog.
package tenantpg

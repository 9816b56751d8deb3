-- PostgreSQL mirror of SQLite's 0021_roles.
-- Roles (issue 11): a township viewer's township (9 digits); NULL for the county-wide roles.
ALTER TABLE accounts ADD COLUMN township_code TEXT COLLATE "C";

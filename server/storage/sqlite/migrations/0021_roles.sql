-- Roles (issue 11): a township viewer's township (9 digits); NULL for the county-wide roles.
ALTER TABLE accounts ADD COLUMN township_code TEXT;

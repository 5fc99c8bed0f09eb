/* segment_membership--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION segment_membership UPDATE TO '1.1'" to load this file. \quit

-- A generic name in the extension's schema collides with users' own
-- objects: every object is named segment_membership* or
-- get_segment_membership*.  Renaming keeps the privileges granted on it.
ALTER FUNCTION @extschema@.credentials_info() RENAME TO segment_membership_credentials;

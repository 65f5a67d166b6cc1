-- Admin sessions remember when they were last used (the 12-hour idle timeout of
-- src/auth/sessions.ts) and the browser they signed in from (Settings lists them). Sessions
-- still open count as used now, when this runs: a deploy signs nobody out, and their idle clock
-- starts here (the 7-day cap still holds). Ended rows keep null; nothing reads it for them.
ALTER TABLE `admin_sessions` ADD `last_used_at` integer;--> statement-breakpoint
ALTER TABLE `admin_sessions` ADD `client` text;--> statement-breakpoint
UPDATE `admin_sessions` SET `last_used_at` = cast(unixepoch('subsecond') * 1000 as integer)
  WHERE `last_used_at` IS NULL AND `ended_at` IS NULL;

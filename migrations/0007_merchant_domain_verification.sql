ALTER TABLE `merchants` ADD `domain_token` text;--> statement-breakpoint
ALTER TABLE `merchants` ADD `domain_verified_at` integer;--> statement-breakpoint
-- Every domain set before has a token to verify it with; none is verified yet.
UPDATE `merchants` SET `domain_token` = lower(hex(randomblob(16))) WHERE `display_domain` IS NOT NULL;

ALTER TABLE `merchants` ADD `domain_checked_at` integer;--> statement-breakpoint
ALTER TABLE `merchants` ADD `domain_missing_since` integer;
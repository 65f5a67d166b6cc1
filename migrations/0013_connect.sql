ALTER TABLE `merchants` ADD `stripe_account_id` text;--> statement-breakpoint
ALTER TABLE `merchants` ADD `stripe_charges_enabled` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `merchants` ADD `stripe_payouts_enabled` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `merchants` ADD `stripe_details_submitted` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `merchants` ADD `stripe_requirements_due` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `merchants` ADD `stripe_disabled_reason` text;--> statement-breakpoint
ALTER TABLE `merchants` ADD `stripe_account_updated_at` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `merchants_stripe_account_idx` ON `merchants` (`stripe_account_id`);--> statement-breakpoint
ALTER TABLE `payments` ADD `stripe_account` text;
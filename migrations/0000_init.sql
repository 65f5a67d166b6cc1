CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`name` text NOT NULL,
	`hash` text NOT NULL,
	`last4` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`merchant_id`) REFERENCES `merchants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_idx` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE INDEX `api_keys_merchant_idx` ON `api_keys` (`merchant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `codes` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`slug` text NOT NULL,
	`mode` text NOT NULL,
	`action` text NOT NULL,
	`status` text NOT NULL,
	`destination_url` text,
	`allow_http` integer DEFAULT false NOT NULL,
	`currency` text,
	`amount` integer,
	`amount_min` integer,
	`amount_max` integer,
	`description` text,
	`expires_at` integer,
	`metadata` text NOT NULL,
	`reference` text,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`merchant_id`) REFERENCES `merchants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `codes_slug_idx` ON `codes` (`slug`);--> statement-breakpoint
CREATE INDEX `codes_merchant_created_idx` ON `codes` (`merchant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `merchants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`display_domain` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `scans` (
	`id` text PRIMARY KEY NOT NULL,
	`code_id` text NOT NULL,
	`merchant_id` text NOT NULL,
	`scanned_at` integer NOT NULL,
	`method` text NOT NULL,
	`is_bot` integer NOT NULL,
	`device` text NOT NULL,
	`browser` text,
	`os` text,
	`country` text,
	`region` text,
	`city` text,
	`colo` text,
	`referrer_host` text,
	`visitor_hash` text
);
--> statement-breakpoint
CREATE INDEX `scans_code_time_idx` ON `scans` (`code_id`,`scanned_at`,`id`);
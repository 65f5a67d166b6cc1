CREATE TABLE `hub_flush_state` (
	`code_id` text PRIMARY KEY NOT NULL,
	`last_seq` integer NOT NULL,
	`flushed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `scan_rollup_dimensions` (
	`code_id` text NOT NULL,
	`hour` integer NOT NULL,
	`dimension` text NOT NULL,
	`value` text NOT NULL,
	`human` integer DEFAULT 0 NOT NULL,
	`bot` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`code_id`, `hour`, `dimension`, `value`)
);
--> statement-breakpoint
CREATE TABLE `scan_rollup_hours` (
	`code_id` text NOT NULL,
	`hour` integer NOT NULL,
	`human` integer DEFAULT 0 NOT NULL,
	`bot` integer DEFAULT 0 NOT NULL,
	`checkout_views` integer DEFAULT 0 NOT NULL,
	`pay_pressed` integer DEFAULT 0 NOT NULL,
	`paid` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`code_id`, `hour`)
);
--> statement-breakpoint
CREATE TABLE `scan_rollup_visitors` (
	`code_id` text NOT NULL,
	`hour` integer NOT NULL,
	`visitor_hash` text NOT NULL,
	PRIMARY KEY(`code_id`, `hour`, `visitor_hash`)
);
--> statement-breakpoint
CREATE INDEX `scan_rollup_visitors_hour_idx` ON `scan_rollup_visitors` (`hour`);--> statement-breakpoint
ALTER TABLE `scans` ADD `checkout_view` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `scans_time_idx` ON `scans` (`scanned_at`);
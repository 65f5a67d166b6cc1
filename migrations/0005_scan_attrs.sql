-- Raw scans keep their attributes in one JSON array (`attrs`, in SCAN_ATTRS order, src/db/schema.ts);
-- the old columns become virtual columns read out of it. No foreign key refers to `scans`.
CREATE TABLE `__new_scans` (
	`id` text PRIMARY KEY NOT NULL,
	`code_id` text NOT NULL,
	`merchant_id` text NOT NULL,
	`scanned_at` integer NOT NULL,
	`attrs` text NOT NULL,
	`method` text GENERATED ALWAYS AS (attrs->>0) VIRTUAL NOT NULL,
	`is_bot` integer GENERATED ALWAYS AS (attrs->>1) VIRTUAL NOT NULL,
	`device` text GENERATED ALWAYS AS (attrs->>2) VIRTUAL NOT NULL,
	`browser` text GENERATED ALWAYS AS (attrs->>3) VIRTUAL,
	`os` text GENERATED ALWAYS AS (attrs->>4) VIRTUAL,
	`country` text GENERATED ALWAYS AS (attrs->>5) VIRTUAL,
	`region` text GENERATED ALWAYS AS (attrs->>6) VIRTUAL,
	`city` text GENERATED ALWAYS AS (attrs->>7) VIRTUAL,
	`colo` text GENERATED ALWAYS AS (attrs->>8) VIRTUAL,
	`referrer_host` text GENERATED ALWAYS AS (attrs->>9) VIRTUAL,
	`visitor_hash` text GENERATED ALWAYS AS (attrs->>10) VIRTUAL,
	`checkout_view` integer GENERATED ALWAYS AS (attrs->>11) VIRTUAL NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_scans`("id", "code_id", "merchant_id", "scanned_at", "attrs") SELECT "id", "code_id", "merchant_id", "scanned_at", json_array("method", "is_bot", "device", "browser", "os", "country", "region", "city", "colo", "referrer_host", "visitor_hash", "checkout_view") FROM `scans`;--> statement-breakpoint
DROP TABLE `scans`;--> statement-breakpoint
ALTER TABLE `__new_scans` RENAME TO `scans`;--> statement-breakpoint
CREATE INDEX `scans_code_time_idx` ON `scans` (`code_id`,`scanned_at`,`id`);--> statement-breakpoint
CREATE INDEX `scans_time_idx` ON `scans` (`scanned_at`);
-- Customer texts saved before the rules of src/lib/text-rules.ts (docs/trust.md) lose the
-- characters those rules refuse and SQL can find: direction controls (U+202A-U+202E,
-- U+2066-U+2069, U+200E, U+200F, U+061C), zero-width characters (U+200B-U+200D, U+2060, U+FEFF)
-- and control characters (descriptions keep tab, line feed and carriage return). Merchant names
-- also lose the verification-like marks of src/auth/merchant-name.ts (with an emoji variation
-- selector after one), then surrounding spaces. How many rows each column had to lose is recorded
-- in maintenance_log first, since wrangler prints no counts; run again, it changes nothing and
-- records zeros. Generated: replace() in groups and GLOB patterns split, since D1 allows
-- expressions 100 deep and patterns of 50 bytes; test/db/migrations.test.ts checks that each
-- character goes and that the rules refuse each one on save.
CREATE TABLE `maintenance_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`task` text NOT NULL,
	`target` text NOT NULL,
	`rows` integer NOT NULL,
	`at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
INSERT INTO `maintenance_log` (`task`, `target`, `rows`)
  SELECT '0009_customer_text_cleanup', 'merchants.name', count(*) FROM `merchants`
  WHERE `name` GLOB '*[' || char(0x0001) || '-' || char(0x001F) || char(0x007F) || '-'
       || char(0x009F) || char(0x061C) || char(0x200B) || '-' || char(0x200F) || char(0x202A)
       || '-' || char(0x202E) || char(0x2060) || char(0x2066) || '-' || char(0x2069)
       || char(0x221A) || char(0x2611) || char(0x2705) || ']*'
     OR `name` GLOB '*[' || char(0x2713, 0x2714) || char(0xFEFF) || char(0x10102)
       || char(0x1F396) || char(0x1F3C5) || char(0x1F3F5) || char(0x1F4DB)
       || char(0x1F50F, 0x1F510) || char(0x1F512) || ']*'
     OR `name` GLOB '*[' || char(0x1F5F8, 0x1F5F9) || char(0x1F6E1) || ']*';
--> statement-breakpoint
INSERT INTO `maintenance_log` (`task`, `target`, `rows`)
  SELECT '0009_customer_text_cleanup', 'codes.reference', count(*) FROM `codes`
  WHERE `reference` GLOB '*[' || char(0x0001) || '-' || char(0x001F) || char(0x007F) || '-'
       || char(0x009F) || char(0x061C) || char(0x200B) || '-' || char(0x200F) || char(0x202A)
       || '-' || char(0x202E) || char(0x2060) || char(0x2066) || '-' || char(0x2069)
       || char(0xFEFF) || ']*';
--> statement-breakpoint
INSERT INTO `maintenance_log` (`task`, `target`, `rows`)
  SELECT '0009_customer_text_cleanup', 'codes.description', count(*) FROM `codes`
  WHERE `description` GLOB '*[' || char(0x0001) || '-' || char(0x0008) || char(0x000B, 0x000C)
       || char(0x000E) || '-' || char(0x001F) || char(0x007F) || '-' || char(0x009F)
       || char(0x061C) || char(0x200B) || '-' || char(0x200F) || char(0x202A) || '-'
       || char(0x202E) || char(0x2060) || char(0x2066) || '-' || char(0x2069) || char(0xFEFF)
       || ']*';
--> statement-breakpoint
INSERT INTO `maintenance_log` (`task`, `target`, `rows`)
  SELECT '0009_customer_text_cleanup', 'payments.description', count(*) FROM `payments`
  WHERE `description` GLOB '*[' || char(0x0001) || '-' || char(0x0008) || char(0x000B, 0x000C)
       || char(0x000E) || '-' || char(0x001F) || char(0x007F) || '-' || char(0x009F)
       || char(0x061C) || char(0x200B) || '-' || char(0x200F) || char(0x202A) || '-'
       || char(0x202E) || char(0x2060) || char(0x2066) || '-' || char(0x2069) || char(0xFEFF)
       || ']*';
--> statement-breakpoint
UPDATE `merchants` SET `name` =
  trim(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(
    `name`
    , char(0x061C), ''), char(0x200E), ''), char(0x200F), ''), char(0x202A), '')
    , char(0x202B), ''), char(0x202C), ''), char(0x202D), ''), char(0x202E), '')
    , char(0x2066), ''), char(0x2067), ''), char(0x2068), ''), char(0x2069), '')
    , char(0x200B), ''), char(0x200C), ''), char(0x200D), ''), char(0x2060), '')
    , char(0xFEFF), '')
  )
  WHERE `name` GLOB '*[' || char(0x061C) || char(0x200B) || '-' || char(0x200F) || char(0x202A)
       || '-' || char(0x202E) || char(0x2060) || char(0x2066) || '-' || char(0x2069)
       || char(0xFEFF) || ']*';
--> statement-breakpoint
UPDATE `merchants` SET `name` =
  trim(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    `name`
    , char(0x0001), ''), char(0x0002), ''), char(0x0003), ''), char(0x0004), '')
    , char(0x0005), ''), char(0x0006), ''), char(0x0007), ''), char(0x0008), '')
    , char(0x0009), ''), char(0x000A), ''), char(0x000B), ''), char(0x000C), '')
    , char(0x000D), ''), char(0x000E), ''), char(0x000F), ''), char(0x0010), '')
    , char(0x0011), ''), char(0x0012), ''), char(0x0013), ''), char(0x0014), '')
    , char(0x0015), ''), char(0x0016), ''), char(0x0017), ''), char(0x0018), '')
    , char(0x0019), ''), char(0x001A), ''), char(0x001B), ''), char(0x001C), '')
    , char(0x001D), ''), char(0x001E), ''), char(0x001F), ''), char(0x007F), '')
  )
  WHERE `name` GLOB '*[' || char(0x0001) || '-' || char(0x001F) || char(0x007F) || ']*';
--> statement-breakpoint
UPDATE `merchants` SET `name` =
  trim(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    `name`
    , char(0x0080), ''), char(0x0081), ''), char(0x0082), ''), char(0x0083), '')
    , char(0x0084), ''), char(0x0085), ''), char(0x0086), ''), char(0x0087), '')
    , char(0x0088), ''), char(0x0089), ''), char(0x008A), ''), char(0x008B), '')
    , char(0x008C), ''), char(0x008D), ''), char(0x008E), ''), char(0x008F), '')
    , char(0x0090), ''), char(0x0091), ''), char(0x0092), ''), char(0x0093), '')
    , char(0x0094), ''), char(0x0095), ''), char(0x0096), ''), char(0x0097), '')
    , char(0x0098), ''), char(0x0099), ''), char(0x009A), ''), char(0x009B), '')
    , char(0x009C), ''), char(0x009D), ''), char(0x009E), ''), char(0x009F), '')
  )
  WHERE `name` GLOB '*[' || char(0x0080) || '-' || char(0x009F) || ']*';
--> statement-breakpoint
UPDATE `merchants` SET `name` =
  trim(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    `name`
    , char(0x2713, 0xFE0F), ''), char(0x2714, 0xFE0F), ''), char(0x2705, 0xFE0F), '')
    , char(0x2611, 0xFE0F), ''), char(0x221A, 0xFE0F), ''), char(0x1F5F8, 0xFE0F), '')
    , char(0x1F5F9, 0xFE0F), ''), char(0x10102, 0xFE0F), ''), char(0x1F6E1, 0xFE0F), '')
    , char(0x1F512, 0xFE0F), ''), char(0x1F510, 0xFE0F), ''), char(0x1F50F, 0xFE0F), '')
    , char(0x1F3C5, 0xFE0F), ''), char(0x1F396, 0xFE0F), ''), char(0x1F3F5, 0xFE0F), '')
    , char(0x1F4DB, 0xFE0F), ''), char(0x2713), ''), char(0x2714), ''), char(0x2705), '')
    , char(0x2611), ''), char(0x221A), ''), char(0x1F5F8), ''), char(0x1F5F9), '')
    , char(0x10102), ''), char(0x1F6E1), ''), char(0x1F512), ''), char(0x1F510), '')
    , char(0x1F50F), ''), char(0x1F3C5), ''), char(0x1F396), ''), char(0x1F3F5), '')
    , char(0x1F4DB), '')
  )
  WHERE `name` GLOB '*[' || char(0x221A) || char(0x2611) || char(0x2705) || char(0x2713, 0x2714)
       || char(0x10102) || char(0x1F396) || char(0x1F3C5) || char(0x1F3F5) || char(0x1F4DB)
       || char(0x1F50F, 0x1F510) || ']*'
     OR `name` GLOB '*[' || char(0x1F512) || char(0x1F5F8, 0x1F5F9) || char(0x1F6E1) || ']*';
--> statement-breakpoint
UPDATE `codes` SET `reference` =
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(
  `reference`
  , char(0x061C), ''), char(0x200E), ''), char(0x200F), ''), char(0x202A), ''), char(0x202B), '')
  , char(0x202C), ''), char(0x202D), ''), char(0x202E), ''), char(0x2066), ''), char(0x2067), '')
  , char(0x2068), ''), char(0x2069), ''), char(0x200B), ''), char(0x200C), ''), char(0x200D), '')
  , char(0x2060), ''), char(0xFEFF), '')
  WHERE `reference` GLOB '*[' || char(0x061C) || char(0x200B) || '-' || char(0x200F)
       || char(0x202A) || '-' || char(0x202E) || char(0x2060) || char(0x2066) || '-'
       || char(0x2069) || char(0xFEFF) || ']*';
--> statement-breakpoint
UPDATE `codes` SET `reference` =
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  `reference`
  , char(0x0001), ''), char(0x0002), ''), char(0x0003), ''), char(0x0004), ''), char(0x0005), '')
  , char(0x0006), ''), char(0x0007), ''), char(0x0008), ''), char(0x0009), ''), char(0x000A), '')
  , char(0x000B), ''), char(0x000C), ''), char(0x000D), ''), char(0x000E), ''), char(0x000F), '')
  , char(0x0010), ''), char(0x0011), ''), char(0x0012), ''), char(0x0013), ''), char(0x0014), '')
  , char(0x0015), ''), char(0x0016), ''), char(0x0017), ''), char(0x0018), ''), char(0x0019), '')
  , char(0x001A), ''), char(0x001B), ''), char(0x001C), ''), char(0x001D), ''), char(0x001E), '')
  , char(0x001F), ''), char(0x007F), '')
  WHERE `reference` GLOB '*[' || char(0x0001) || '-' || char(0x001F) || char(0x007F) || ']*';
--> statement-breakpoint
UPDATE `codes` SET `reference` =
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  `reference`
  , char(0x0080), ''), char(0x0081), ''), char(0x0082), ''), char(0x0083), ''), char(0x0084), '')
  , char(0x0085), ''), char(0x0086), ''), char(0x0087), ''), char(0x0088), ''), char(0x0089), '')
  , char(0x008A), ''), char(0x008B), ''), char(0x008C), ''), char(0x008D), ''), char(0x008E), '')
  , char(0x008F), ''), char(0x0090), ''), char(0x0091), ''), char(0x0092), ''), char(0x0093), '')
  , char(0x0094), ''), char(0x0095), ''), char(0x0096), ''), char(0x0097), ''), char(0x0098), '')
  , char(0x0099), ''), char(0x009A), ''), char(0x009B), ''), char(0x009C), ''), char(0x009D), '')
  , char(0x009E), ''), char(0x009F), '')
  WHERE `reference` GLOB '*[' || char(0x0080) || '-' || char(0x009F) || ']*';
--> statement-breakpoint
UPDATE `codes` SET `description` =
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(
  `description`
  , char(0x061C), ''), char(0x200E), ''), char(0x200F), ''), char(0x202A), ''), char(0x202B), '')
  , char(0x202C), ''), char(0x202D), ''), char(0x202E), ''), char(0x2066), ''), char(0x2067), '')
  , char(0x2068), ''), char(0x2069), ''), char(0x200B), ''), char(0x200C), ''), char(0x200D), '')
  , char(0x2060), ''), char(0xFEFF), '')
  WHERE `description` GLOB '*[' || char(0x061C) || char(0x200B) || '-' || char(0x200F)
       || char(0x202A) || '-' || char(0x202E) || char(0x2060) || char(0x2066) || '-'
       || char(0x2069) || char(0xFEFF) || ']*';
--> statement-breakpoint
UPDATE `codes` SET `description` =
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(
  `description`
  , char(0x0001), ''), char(0x0002), ''), char(0x0003), ''), char(0x0004), ''), char(0x0005), '')
  , char(0x0006), ''), char(0x0007), ''), char(0x0008), ''), char(0x000B), ''), char(0x000C), '')
  , char(0x000E), ''), char(0x000F), ''), char(0x0010), ''), char(0x0011), ''), char(0x0012), '')
  , char(0x0013), ''), char(0x0014), ''), char(0x0015), ''), char(0x0016), ''), char(0x0017), '')
  , char(0x0018), ''), char(0x0019), ''), char(0x001A), ''), char(0x001B), ''), char(0x001C), '')
  , char(0x001D), ''), char(0x001E), ''), char(0x001F), ''), char(0x007F), '')
  WHERE `description` GLOB '*[' || char(0x0001) || '-' || char(0x0008) || char(0x000B, 0x000C)
       || char(0x000E) || '-' || char(0x001F) || char(0x007F) || ']*';
--> statement-breakpoint
UPDATE `codes` SET `description` =
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  `description`
  , char(0x0080), ''), char(0x0081), ''), char(0x0082), ''), char(0x0083), ''), char(0x0084), '')
  , char(0x0085), ''), char(0x0086), ''), char(0x0087), ''), char(0x0088), ''), char(0x0089), '')
  , char(0x008A), ''), char(0x008B), ''), char(0x008C), ''), char(0x008D), ''), char(0x008E), '')
  , char(0x008F), ''), char(0x0090), ''), char(0x0091), ''), char(0x0092), ''), char(0x0093), '')
  , char(0x0094), ''), char(0x0095), ''), char(0x0096), ''), char(0x0097), ''), char(0x0098), '')
  , char(0x0099), ''), char(0x009A), ''), char(0x009B), ''), char(0x009C), ''), char(0x009D), '')
  , char(0x009E), ''), char(0x009F), '')
  WHERE `description` GLOB '*[' || char(0x0080) || '-' || char(0x009F) || ']*';
--> statement-breakpoint
UPDATE `payments` SET `description` =
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(
  `description`
  , char(0x061C), ''), char(0x200E), ''), char(0x200F), ''), char(0x202A), ''), char(0x202B), '')
  , char(0x202C), ''), char(0x202D), ''), char(0x202E), ''), char(0x2066), ''), char(0x2067), '')
  , char(0x2068), ''), char(0x2069), ''), char(0x200B), ''), char(0x200C), ''), char(0x200D), '')
  , char(0x2060), ''), char(0xFEFF), '')
  WHERE `description` GLOB '*[' || char(0x061C) || char(0x200B) || '-' || char(0x200F)
       || char(0x202A) || '-' || char(0x202E) || char(0x2060) || char(0x2066) || '-'
       || char(0x2069) || char(0xFEFF) || ']*';
--> statement-breakpoint
UPDATE `payments` SET `description` =
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(
  `description`
  , char(0x0001), ''), char(0x0002), ''), char(0x0003), ''), char(0x0004), ''), char(0x0005), '')
  , char(0x0006), ''), char(0x0007), ''), char(0x0008), ''), char(0x000B), ''), char(0x000C), '')
  , char(0x000E), ''), char(0x000F), ''), char(0x0010), ''), char(0x0011), ''), char(0x0012), '')
  , char(0x0013), ''), char(0x0014), ''), char(0x0015), ''), char(0x0016), ''), char(0x0017), '')
  , char(0x0018), ''), char(0x0019), ''), char(0x001A), ''), char(0x001B), ''), char(0x001C), '')
  , char(0x001D), ''), char(0x001E), ''), char(0x001F), ''), char(0x007F), '')
  WHERE `description` GLOB '*[' || char(0x0001) || '-' || char(0x0008) || char(0x000B, 0x000C)
       || char(0x000E) || '-' || char(0x001F) || char(0x007F) || ']*';
--> statement-breakpoint
UPDATE `payments` SET `description` =
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
  `description`
  , char(0x0080), ''), char(0x0081), ''), char(0x0082), ''), char(0x0083), ''), char(0x0084), '')
  , char(0x0085), ''), char(0x0086), ''), char(0x0087), ''), char(0x0088), ''), char(0x0089), '')
  , char(0x008A), ''), char(0x008B), ''), char(0x008C), ''), char(0x008D), ''), char(0x008E), '')
  , char(0x008F), ''), char(0x0090), ''), char(0x0091), ''), char(0x0092), ''), char(0x0093), '')
  , char(0x0094), ''), char(0x0095), ''), char(0x0096), ''), char(0x0097), ''), char(0x0098), '')
  , char(0x0099), ''), char(0x009A), ''), char(0x009B), ''), char(0x009C), ''), char(0x009D), '')
  , char(0x009E), ''), char(0x009F), '')
  WHERE `description` GLOB '*[' || char(0x0080) || '-' || char(0x009F) || ']*';

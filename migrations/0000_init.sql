CREATE TABLE `authors` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`network` text NOT NULL,
	`remote_id` text NOT NULL,
	`handle` text,
	`name` text NOT NULL,
	`profile_url` text,
	`avatar_url` text,
	`trusted` integer DEFAULT false NOT NULL,
	`blocked` integer DEFAULT false NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `authors_network_remote_id` ON `authors` (`network`,`remote_id`);--> statement-breakpoint
CREATE TABLE `media` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`post_id` integer NOT NULL,
	`position` integer NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`remote_url` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`sha256` text,
	`source_type` text,
	`original_path` text,
	`wall_path` text,
	`thumb_path` text,
	`tile_path` text,
	`width` integer,
	`height` integer,
	`bytes` integer,
	`phash` text,
	`mean_color` text,
	`lab_grid` text,
	`alt` text,
	`sensitive` integer DEFAULT false NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`post_id`) REFERENCES `posts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `media_post_position` ON `media` (`post_id`,`position`);--> statement-breakpoint
CREATE INDEX `media_sha256` ON `media` (`sha256`);--> statement-breakpoint
CREATE INDEX `media_state` ON `media` (`state`);--> statement-breakpoint
CREATE TABLE `moderation_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`post_id` integer NOT NULL,
	`organizer_id` integer,
	`action` text NOT NULL,
	`from_status` text,
	`to_status` text,
	`rule` text,
	`note` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`post_id`) REFERENCES `posts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`organizer_id`) REFERENCES `organizers`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `moderation_events_post` ON `moderation_events` (`post_id`);--> statement-breakpoint
CREATE TABLE `organizers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`disabled` integer DEFAULT false NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `organizers_username_unique` ON `organizers` (`username`);--> statement-breakpoint
CREATE TABLE `posts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`network` text NOT NULL,
	`remote_id` text NOT NULL,
	`canonical_uri` text NOT NULL,
	`source_id` text NOT NULL,
	`url` text,
	`text` text DEFAULT '' NOT NULL,
	`language` text,
	`posted_at` text NOT NULL,
	`collected_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`status_changed_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`demands` text DEFAULT '[]' NOT NULL,
	`region` text,
	`featured` integer DEFAULT false NOT NULL,
	`sensitive` integer DEFAULT false NOT NULL,
	`consent_display` integer DEFAULT false NOT NULL,
	`consent_print` integer DEFAULT false NOT NULL,
	`near_duplicate_of` integer,
	`author_id` integer NOT NULL,
	FOREIGN KEY (`author_id`) REFERENCES `authors`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `posts_network_remote_id` ON `posts` (`network`,`remote_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `posts_canonical_uri` ON `posts` (`canonical_uri`);--> statement-breakpoint
CREATE INDEX `posts_status_posted_at` ON `posts` (`status`,`posted_at`);--> statement-breakpoint
CREATE INDEX `posts_author_id` ON `posts` (`author_id`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`organizer_id` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`expires_at` text NOT NULL,
	`revoked_at` text,
	`ip` text,
	`user_agent` text,
	FOREIGN KEY (`organizer_id`) REFERENCES `organizers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_organizer` ON `sessions` (`organizer_id`);--> statement-breakpoint
CREATE TABLE `source_cursors` (
	`source_id` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`source_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `source_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`source_id` text NOT NULL,
	`started_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`finished_at` text,
	`status` text DEFAULT 'running' NOT NULL,
	`found` integer DEFAULT 0 NOT NULL,
	`created` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`message` text
);
--> statement-breakpoint
CREATE INDEX `source_runs_source_started` ON `source_runs` (`source_id`,`started_at`);
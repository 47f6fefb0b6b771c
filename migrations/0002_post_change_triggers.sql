-- Custom migration: triggers that feed post_changes (see src/db/schema.ts, postChanges).
CREATE TRIGGER `post_changes_on_insert` AFTER INSERT ON `posts`
BEGIN
  INSERT INTO `post_changes` (`post_id`, `status`, `featured`) VALUES (NEW.`id`, NEW.`status`, NEW.`featured`);
END;
--> statement-breakpoint
CREATE TRIGGER `post_changes_on_update` AFTER UPDATE OF `status`, `featured` ON `posts`
WHEN OLD.`status` IS NOT NEW.`status` OR OLD.`featured` IS NOT NEW.`featured`
BEGIN
  INSERT INTO `post_changes` (`post_id`, `status`, `featured`) VALUES (NEW.`id`, NEW.`status`, NEW.`featured`);
END;
--> statement-breakpoint
CREATE TRIGGER `post_changes_on_media_stored` AFTER UPDATE OF `state` ON `media`
WHEN NEW.`state` = 'stored' AND OLD.`state` IS NOT 'stored'
BEGIN
  INSERT INTO `post_changes` (`post_id`, `status`, `featured`)
  SELECT `id`, `status`, `featured` FROM `posts` WHERE `id` = NEW.`post_id`;
END;

//! Markdown helpers shared by the documents the bot writes (the packet,
//! `answers.md`): user text quoted as written, and mention syntax broken up
//! so nothing pings when a document is pasted back into Discord.

/// Keep user text from pinging anyone when it is pasted back into Discord:
/// a zero-width space breaks `@everyone`, `@here`, `<@user>`, `<@&role>` and
/// `<#channel>` while the text still reads exactly as written. Other `@`s
/// (e-mail addresses) are left alone.
pub fn neutralize(text: &str) -> String {
    text.replace("@everyone", "@\u{200B}everyone")
        .replace("@here", "@\u{200B}here")
        .replace("<@", "<\u{200B}@")
        .replace("<#", "<\u{200B}#")
}

/// [`neutralize`]d, on one line: for names and questions inside a heading.
pub(crate) fn one_line(text: &str) -> String {
    neutralize(text).replace('\n', " ")
}

/// A Markdown block quote of user text, line for line (blank lines stay inside
/// the quote, so a paragraph break cannot end it and start a heading).
pub(crate) fn quote(text: &str) -> String {
    let lines: Vec<String> = neutralize(text.trim_end())
        .lines()
        .map(|l| if l.trim().is_empty() { ">".to_string() } else { format!("> {l}") })
        .collect();
    if lines.is_empty() { ">".to_string() } else { lines.join("\n") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralize_breaks_every_mention_but_reads_the_same() {
        let text = "@everyone @here <@42> <@&7> <#9> me@example.com";
        let safe = neutralize(text);
        for mention in ["@everyone", "@here", "<@42>", "<@&7>", "<#9>"] {
            assert!(!safe.contains(mention), "{mention} in {safe}");
        }
        assert!(safe.contains("me@example.com"));
        assert_eq!(safe.replace('\u{200B}', ""), text);
    }

    #[test]
    fn quote_keeps_blank_lines_inside_and_an_empty_text_is_one_marker() {
        assert_eq!(quote("a\n\n# not a heading\n"), "> a\n>\n> # not a heading");
        assert_eq!(quote("  \n"), ">");
        assert_eq!(quote(""), ">");
    }

    #[test]
    fn one_line_joins_lines_and_neutralizes() {
        assert_eq!(one_line("a\nb @here"), "a b @\u{200B}here");
    }
}

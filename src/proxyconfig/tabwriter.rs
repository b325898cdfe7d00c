//! Go's `text/tabwriter` as istioctl configures it (`Init(w, 0, 8, padding, ' ', 0)`), so our
//! tables line up byte for byte with istioctl's. Cells are separated by `\t`; a cell followed by a
//! tab is a column cell and is padded to its column's width plus `padding`; the last cell of a
//! line is written as is. Columns are sized per block of consecutive lines that have that column,
//! and a line without any tab ends the block (Go flushes there).

/// Formats `text` (lines of tab-separated cells) the way Go's tabwriter would.
pub fn format(text: &str, padding: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    let mut block: Vec<Vec<&str>> = Vec::new();
    let trailing_newline = text.ends_with('\n');
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() && !trailing_newline {
        return out;
    }
    let lines: Vec<&str> = body.split('\n').collect();
    let last = lines.len() - 1;
    for (i, line) in lines.iter().enumerate() {
        let cells: Vec<&str> = line.split('\t').collect();
        let single = cells.len() == 1;
        block.push(cells);
        if single {
            write_block(&mut out, &block, padding, i < last || trailing_newline);
            block.clear();
        }
    }
    if !block.is_empty() {
        write_block(&mut out, &block, padding, trailing_newline);
    }
    out
}

/// Writes one block: the last line gets a newline only if the input had one.
fn write_block(out: &mut String, lines: &[Vec<&str>], padding: usize, final_newline: bool) {
    let widths = Vec::new();
    let mut rendered = String::new();
    layout(&mut rendered, lines, 0, lines.len(), widths, padding);
    if !final_newline {
        rendered.pop();
    }
    out.push_str(&rendered);
}

/// Go's `format`: finds runs of lines that have a cell in the next column, sizes that column over
/// the run, and recurses into the run for the columns after it.
fn layout(
    out: &mut String,
    lines: &[Vec<&str>],
    mut line0: usize,
    line1: usize,
    mut widths: Vec<usize>,
    padding: usize,
) -> Vec<usize> {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(out, lines, line0, this, &widths);
        line0 = this;
        let mut width = 0;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(lines[this][column].chars().count() + padding);
            this += 1;
        }
        widths.push(width);
        widths = layout(out, lines, line0, this, widths, padding);
        widths.pop();
        line0 = this;
    }
    write_lines(out, lines, line0, line1, &widths);
    widths
}

fn write_lines(out: &mut String, lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize]) {
    for line in &lines[from..to] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() {
                let w = cell.chars().count();
                out.extend(std::iter::repeat_n(' ', widths[j].saturating_sub(w)));
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn pads_column_cells_and_leaves_the_last_cell() {
        let t = format("NAME\tPORT\tX\nlonger-name\t8080\t\n", 5);
        assert_eq!(t, "NAME            PORT     X\nlonger-name     8080     \n");
    }

    #[test]
    fn a_line_without_tabs_ends_the_block() {
        let t = format("a\tb\nheader\nlong-cell\tc\n", 1);
        assert_eq!(t, "a b\nheader\nlong-cell c\n");
    }

    #[test]
    fn columns_are_sized_per_block_of_lines_having_them() {
        // The third column exists only on the first line: it is sized on that line alone.
        let t = format("a\tbbbb\tc\td\nxx\ty\n", 1);
        assert_eq!(t, "a  bbbb c d\nxx y\n");
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let t = format("é\tx\nab\ty\n", 1);
        assert_eq!(t, "é  x\nab y\n");
    }
}
